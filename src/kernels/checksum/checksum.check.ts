import type { Gpu } from '../../gpu/gpu';
import { mulberry32 } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, withinTolerance } from '../check';
import { CHECKSUM_CHUNK, CHECKSUM_OUT_LENGTH, checksumScratchLength, paramChecksum } from './checksum';
import { paramChecksumCpu } from './checksum-cpu';

/** 100003 elements: 7 chunks, the last one partial. `shape.n` overrides. */
const DEFAULT_N = 100003;
/** Tiny sizes too: empty, one element, less than a workgroup's first row. */
const SMALL_N = [0, 1, 257];
/** Integer-only: the GPU must equal the CPU checksum bit for bit. */
const tolerance = { kind: 'absScaled', value: 0 } as const;

/** Bit patterns that float arithmetic would blur: ±0, NaN payloads, ±inf, subnormals. */
const SPECIAL_BITS = [0x00000000, 0x80000000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff];

/** n f32 words: random bit patterns with the special ones sprinkled in, built through a u32 view. */
function randomBits(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = Math.floor(rand() * 4294967296);
  for (let k = 0; k < SPECIAL_BITS.length * 3 && n > 0; k++) {
    bits[Math.floor(rand() * n)] = SPECIAL_BITS[k % SPECIAL_BITS.length];
  }
  return new Float32Array(bits.buffer);
}

function withBits(data: Float32Array, i: number, bits: number): Float32Array {
  const out = data.slice();
  new Uint32Array(out.buffer)[i] = bits >>> 0;
  return out;
}

/** The base input and variants that must all hash differently: one-bit flip, a swap across chunks, one element shorter. */
function variants(base: Float32Array): Float32Array[] {
  const n = base.length;
  if (n < 2) return [base];
  const bits = new Uint32Array(base.buffer);
  const i = 1;
  const j = n - 1;
  const flipped = withBits(base, Math.floor(n / 2), bits[Math.floor(n / 2)] ^ 1);
  const swapped = withBits(withBits(base, i, bits[j]), j, bits[i]);
  return [base, flipped, swapped, base.slice(0, n - 1)];
}

/** GPU checksum of `data`, through a 2-D grid when `fold` (as ~100M elements would need). */
async function gpuChecksum(gpu: Gpu, data: Float32Array, fold: boolean): Promise<Uint32Array> {
  const n = data.length;
  const buf = gpu.upload('check.checksum.data', data);
  const partials = gpu.buffer('check.checksum.partials', checksumScratchLength(n) * 4);
  const out = gpu.buffer('check.checksum.out', CHECKSUM_OUT_LENGTH * 4);
  const groups = Math.ceil(n / CHECKSUM_CHUNK);
  const gridLimit = fold ? Math.max(1, Math.ceil(Math.sqrt(groups))) : undefined;
  gpu.run('check.checksum', paramChecksum(gpu, { n, data: buf, partials, out, gridLimit }));
  const got = await gpu.readU32(out, CHECKSUM_OUT_LENGTH);
  for (const b of [buf, partials, out]) b.destroy();
  return got;
}

async function runParamsCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const n = opts.shape?.n ?? DEFAULT_N;
  const seed = opts.seed ?? 1;
  const inputs = [...variants(randomBits(n, seed)), ...SMALL_N.map((m) => randomBits(m, seed + m + 1))];
  let maxAbsErr = 0;
  let maxAbsRef = 0;
  const seen = new Set<string>();
  let collisions = 0;
  for (const [k, data] of inputs.entries()) {
    const want = paramChecksumCpu(data);
    const got = await gpuChecksum(gpu, data, k % 2 === 0);
    for (let w = 0; w < CHECKSUM_OUT_LENGTH; w++) {
      maxAbsErr = Math.max(maxAbsErr, Math.abs(got[w] - want[w]));
      maxAbsRef = Math.max(maxAbsRef, want[w]);
    }
    const key = want.join(',');
    if (seen.has(key)) collisions++;
    seen.add(key);
  }
  // Distinct inputs must give distinct checksums (and a repeat run the same bits, covered by the exact match).
  if (collisions > 0) maxAbsErr = Infinity;
  const data = randomBits(n, seed);
  const buffers = {
    data: gpu.upload('check.checksum.data', data),
    partials: gpu.buffer('check.checksum.partials', checksumScratchLength(n) * 4),
    out: gpu.buffer('check.checksum.out', CHECKSUM_OUT_LENGTH * 4),
  };
  const ms = await timeDispatches(gpu, 'checksum.params', paramChecksum(gpu, { n, ...buffers }), opts.reps ?? 3);
  for (const b of Object.values(buffers)) b.destroy();
  const err = { maxAbsErr, maxRelErr: maxAbsErr === 0 ? 0 : Infinity, maxAbsRef };
  return {
    name: 'checksum.params',
    shape: shapeString({ n, cases: inputs.length }),
    ...err,
    tolerance,
    pass: withinTolerance(tolerance, err),
    ms,
  };
}

export const checksumChecks: KernelCheck[] = [
  {
    name: 'checksum.params',
    description:
      '64-bit integer checksum of a flat f32 buffer (random bit patterns incl. ±0, NaN payloads, ±inf, subnormals) must equal the CPU reference word for word (error 0), on a base input, a one-bit flip, a swap, a shorter length and n = 0, 1, 257, through 1-D and folded 2-D grids; all cases must differ',
    run: runParamsCheck,
  },
];

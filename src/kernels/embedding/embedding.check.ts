import type { Gpu } from '../../gpu/gpu';
import { compareArrays } from '../testing/compare';
import { randomFloats, randomInts } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { bucketTokens, embeddingBackward, embeddingForward } from './embedding';
import { embeddingBackward as embeddingBackwardRef, embeddingForward as embeddingForwardRef } from './embedding.ref';

/** n = B·S = 14 ids drawn from V = 13, so some ids repeat and some are unused; D = 37 fits no workgroup. */
const DEFAULT_SHAPE = { B: 2, S: 7, V: 13, D: 37 };

function inputs(opts: CheckOptions) {
  const { B, S, V, D } = { ...DEFAULT_SHAPE, ...opts.shape };
  const n = B * S;
  const seed = opts.seed ?? 1;
  return { shape: { B, S, V, D }, n, V, D, seed, ids: randomInts(n, V, seed) };
}

async function runForwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, n, V, D, seed, ids } = inputs(opts);
  const table = toF32(randomFloats(V * D, seed + 1));
  const bufs = {
    ids: gpu.upload('check.embedding.ids', Uint32Array.from(ids)),
    table: gpu.upload('check.embedding.table', table),
    y: gpu.buffer('check.embedding.y', n * D * 4),
  };
  const d = embeddingForward(gpu, { n, V, D, ...bufs });
  gpu.run('check.embedding.forward', [d]);
  const err = compareArrays(await gpu.readF32(bufs.y, n * D), embeddingForwardRef(toF64(table), ids, V, D));
  const ms = await timeDispatches(gpu, 'embedding.forward', [d], opts.reps ?? 3);
  for (const buf of Object.values(bufs)) buf.destroy();
  const tolerance = { kind: 'relative', value: 1e-5 } as const;
  return { name: 'embedding.forward', shape: shapeString(shape), ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
}

async function runBackwardCheck(gpu: Gpu, opts: CheckOptions = {}): Promise<CheckResult> {
  const { shape, n, V, D, seed, ids } = inputs(opts);
  const dy = toF32(randomFloats(n * D, seed + 2));
  const { offsets, positions } = bucketTokens(ids, V);
  const bufs = {
    offsets: gpu.upload('check.embedding.offsets', offsets),
    positions: gpu.upload('check.embedding.positions', positions),
    dy: gpu.upload('check.embedding.dy', dy),
  };
  // Overwrite onto stale NaNs (rows of unused ids must become 0), then
  // accumulate onto stale values.
  const stale = toF32(randomFloats(V * D, seed + 3));
  const dOver = gpu.upload('check.embedding.dTable', new Float32Array(V * D).fill(NaN));
  const dAcc = gpu.upload('check.embedding.dTableAcc', stale);
  const over = embeddingBackward(gpu, { V, D, ...bufs, dTable: dOver });
  const acc = embeddingBackward(gpu, { V, D, ...bufs, dTable: dAcc, accumulate: true });
  gpu.run('check.embedding.backward', [over, acc]);
  const ref = embeddingBackwardRef(toF64(dy), ids, V, D);
  const got = new Float32Array(2 * V * D);
  got.set(await gpu.readF32(dOver, V * D));
  got.set(await gpu.readF32(dAcc, V * D), V * D);
  const want = new Float64Array(2 * V * D);
  want.set(ref);
  want.set(ref.map((v, i) => stale[i] + v), V * D);
  const err = compareArrays(got, want);
  const ms = await timeDispatches(gpu, 'embedding.backward', [over], opts.reps ?? 3);
  for (const buf of [...Object.values(bufs), dOver, dAcc]) buf.destroy();
  const tolerance = { kind: 'absScaled', value: 1e-5 } as const;
  return { name: 'embedding.backward', shape: shapeString(shape), ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
}

export const embeddingChecks: KernelCheck[] = [
  {
    name: 'embedding.forward',
    description: 'y = E[ids] (row gather)',
    run: runForwardCheck,
  },
  {
    name: 'embedding.backward',
    description:
      'dE by CPU-bucketed positions, one thread per (id, column) summing in position order (no atomics), overwrite and ' +
      'accumulate. Sums of repeated ids (and stale + new) can cancel to tiny values, so the check is |err| ≤ 1e-5·max|ref|',
    run: runBackwardCheck,
  },
];

import type { Gpu } from '../../gpu/gpu';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { copyBlock } from './copy';
import { copyRef } from './copy.ref';

/** The k_pe broadcast: [T, dr] into every head's rope columns of K [T, H, dn+dr]. */
async function runCopyCheck(gpu: Gpu, accumulate: boolean, opts: CheckOptions = {}): Promise<CheckResult> {
  const { T, H, dn, dr } = { T: 13, H: 3, dn: 5, dr: 4, ...opts.shape };
  const stride = H * (dn + dr);
  const src32 = toF32(randomFloats(T * dr, opts.seed ?? 3));
  const dst32 = toF32(randomFloats(T * stride, (opts.seed ?? 3) + 1));
  const src = gpu.upload('check.copy.src', src32);
  const dst = gpu.upload('check.copy.dst', dst32);
  const from = { offset: 0, rowStride: dr, repStride: 0 };
  const to = { offset: dn, rowStride: stride, repStride: dn + dr };
  const d = copyBlock(gpu, { src, dst, rows: T, cols: dr, reps: H, accumulate, from, to });
  gpu.run('check.copy', [d]);
  const got = await gpu.readF32(dst, T * stride);
  const ref = copyRef(toF64(src32), toF64(dst32), { rows: T, cols: dr, reps: H, accumulate }, from, to);
  const err = compareArrays(got, ref);
  const ms = await timeDispatches(gpu, d.label, [copyBlock(gpu, { src, dst, rows: T, cols: dr, reps: H, from, to })], opts.reps ?? 3);
  src.destroy();
  dst.destroy();
  const tolerance = { kind: 'relative', value: 1e-5 } as const;
  return { name: `copy.${accumulate ? 'accumulate' : 'block'}`, shape: shapeString({ T, H, dn, dr }), ...err, tolerance, pass: withinTolerance(tolerance, err), ms };
}

export const copyChecks: KernelCheck[] = [
  { name: 'copy.block', description: 'strided block copy (k_pe broadcast to every head)', run: (gpu, o) => runCopyCheck(gpu, false, o) },
  { name: 'copy.accumulate', description: 'strided block add (gradient contributions)', run: (gpu, o) => runCopyCheck(gpu, true, o) },
];

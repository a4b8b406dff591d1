import type { Gpu } from '../../gpu/gpu';
import { compareArrays } from '../testing/compare';
import { randomFloats } from '../testing/random';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, timeDispatches, toF32, toF64, withinTolerance } from '../check';
import { ropeBackward, ropeForward, ropeTables } from './rope';
import { ropeBackward as ropeBackwardRef, ropeForward as ropeForwardRef } from './rope.ref';

/**
 * q-like rows [B·S·H, dn+dr+tail]: the rope part sits at offset dn with `tail`
 * untouched columns after it, so pass-through on both sides is checked. The
 * tables cover S + extra positions, as a model's tables cover
 * max_position_embeddings ≥ S.
 */
const DEFAULT_SHAPE = { B: 2, S: 7, H: 3, dn: 5, dr: 6, tail: 2, extra: 3 };
const THETA = 10000;

type Direction = 'forward' | 'backward';

async function runRopeCheck(gpu: Gpu, direction: Direction, opts: CheckOptions = {}): Promise<CheckResult> {
  const { B, S, H, dn, dr, tail, extra } = { ...DEFAULT_SHAPE, ...opts.shape };
  const stride = dn + dr + tail;
  const x32 = toF32(randomFloats(B * S * H * stride, opts.seed ?? 1));
  const x = gpu.upload('check.rope.x', x32);
  const tables = ropeTables(gpu, S + extra, dr, THETA);
  const args = { B, S, heads: H, stride, offset: dn, dr, x, tables };
  const d = direction === 'forward' ? ropeForward(gpu, args) : ropeBackward(gpu, args);
  gpu.run(`check.rope.${direction}`, [d]);
  const got = await gpu.readF32(x, x32.length);
  const reference = direction === 'forward' ? ropeForwardRef : ropeBackwardRef;
  const err = compareArrays(got, reference(toF64(x32), B, S, H, stride, dn, dr, THETA));
  // In place: timing keeps rotating x, which stays bounded.
  const ms = await timeDispatches(gpu, `rope.${direction}`, [d], opts.reps ?? 3);
  for (const buf of [x, tables.cos, tables.sin]) buf.destroy();
  const tolerance = { kind: 'absScaled', value: 1e-5 } as const;
  return {
    name: `rope.${direction}`,
    shape: shapeString({ B, S, H, stride, offset: dn, dr }),
    ...err,
    tolerance,
    pass: withinTolerance(tolerance, err),
    ms,
  };
}

const COMPOSITE =
  'a·cos − b·sin cancels to tiny values for some pairs, so the check is |err| ≤ 1e-5·max|ref| over the whole strided buffer ' +
  '(pass-through columns included)';

export const ropeChecks: KernelCheck[] = [
  {
    name: 'rope.forward',
    description: `in-place interleaved RoPE on a strided slice with float64-built f32 tables. ${COMPOSITE}`,
    run: (gpu, opts) => runRopeCheck(gpu, 'forward', opts),
  },
  {
    name: 'rope.backward',
    description: `gradient of RoPE (rotation by −angle), in place. ${COMPOSITE}`,
    run: (gpu, opts) => runRopeCheck(gpu, 'backward', opts),
  },
];

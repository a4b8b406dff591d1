/**
 * The run's learning rate per step (docs/run.md "Rounds"). The coordinator
 * sends `lrBits` (the f32 bits) with every round, so every client applies
 * exactly the same η however its own float math would have rounded.
 */
import { scheduledLearningRate } from '../train/schedule';
import type { RunConfig } from './run-config';

export function learningRate(config: RunConfig, step: number): number {
  return scheduledLearningRate(config.lr, config.totalSteps, step);
}

/** The u32 bit pattern of Math.fround(x). */
export function f32Bits(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, Math.fround(x), true);
  return view.getUint32(0, true);
}

export function lrBits(config: RunConfig, step: number): number {
  return f32Bits(learningRate(config, step));
}

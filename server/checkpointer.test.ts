import { describe, expect, it } from 'vitest';
import { checksumHex, paramChecksumCpu } from '../src/kernels/checksum/checksum-cpu';
import { importCheckpoint } from '../src/model/checkpoint';
import { planLayout } from '../src/model/param-layout';
import { parameterSpecs } from '../src/model/config';
import { f32Bits } from '../src/run/learning-rate';
import { CheckpointBuildError, initialCheckpoint, replayRounds, type AgreedRound } from './checkpointer';
import { runModel } from './run-model';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';

const config = serverTestConfig();
const rm = runModel(config);

/** Checksum computed here from the safetensors bytes alone: the tensors laid out as the GPU holds them. */
function independentChecksum(bytes: Uint8Array): string {
  const { config: model, params } = importCheckpoint(bytes);
  const layout = planLayout(parameterSpecs(model));
  const flat = new Float32Array(layout.totalFloats);
  for (const slot of layout.slots) flat.set(params.get(slot.name)!, slot.offset);
  return checksumHex(paramChecksumCpu(flat));
}

function rounds(n: number, perRound: number): AgreedRound[] {
  return Array.from({ length: n }, (_, step) => ({
    step,
    lrBits: f32Bits(0.01 * (step + 1)),
    payloads: Array.from({ length: perRound }, (_, i) => encodedTestUpdate(config, step, 100 * step + i + 1)),
  }));
}

describe('checkpointer', () => {
  const base = initialCheckpoint(config, rm);

  it('makes epoch 0 from initParams with the checksum a client would compute', () => {
    expect(base.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(base.checksum).toBe(independentChecksum(base.bytes));
    expect(initialCheckpoint(config).bytes).toEqual(base.bytes);
    expect(initialCheckpoint({ ...config, initSeed: 2 }).checksum).not.toBe(base.checksum);
  });

  it('replaying N rounds at once gives the same bytes as applying them one round at a time', () => {
    const all = rounds(3, 2);
    const atOnce = replayRounds(config, base.bytes, all, rm);
    let current = base;
    for (const r of all) current = replayRounds(config, current.bytes, [r], rm);
    expect(atOnce.bytes).toEqual(current.bytes);
    expect(atOnce.checksum).toBe(current.checksum);
    expect(atOnce.checksum).toBe(independentChecksum(atOnce.bytes));
    expect(atOnce.checksum).not.toBe(base.checksum);
  });

  it('an empty agreed set still applies weight decay, and with none and no decay nothing changes', () => {
    const empty = [{ step: 0, lrBits: f32Bits(0.01), payloads: [] }];
    expect(replayRounds(config, base.bytes, empty, rm).checksum).not.toBe(base.checksum);
    const noDecay = { ...config, optimizer: { ...config.optimizer, weightDecay: 0 } };
    expect(replayRounds(noDecay, base.bytes, empty, rm).bytes).toEqual(base.bytes);
  });

  it('refuses a payload made for another step', () => {
    const wrong = [{ step: 5, lrBits: f32Bits(0.01), payloads: [encodedTestUpdate(config, 4, 1)] }];
    expect(() => replayRounds(config, base.bytes, wrong, rm)).toThrow(CheckpointBuildError);
  });
});

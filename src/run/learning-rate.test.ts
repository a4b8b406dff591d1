import { describe, expect, it } from 'vitest';
import { cosineLearningRate, wsdLearningRate } from '../train/schedule';
import { f32Bits, learningRate, lrBits } from './learning-rate';
import { parseRunConfig } from './run-config';

/** Independent of f32Bits: reinterpret through typed arrays. */
function bitsOf(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}

describe('learning rate', () => {
  const lr = { peak: 3e-3, warmupSteps: 5, decayFraction: 0.25, minFactor: 0.1 };

  it('wsd follows wsdLearningRate with the run length', () => {
    const config = parseRunConfig({ totalSteps: 40, lr: { ...lr, schedule: 'wsd' } });
    for (let s = 0; s < 45; s++) {
      expect(learningRate(config, s)).toBe(wsdLearningRate({ lr: 3e-3, warmupSteps: 5, totalSteps: 40, decayFraction: 0.25, minFactor: 0.1 }, s));
    }
    expect(learningRate(config, 40)).toBeCloseTo(3e-4, 12);
  });

  it('cosine follows cosineLearningRate', () => {
    const config = parseRunConfig({ totalSteps: 40, lr: { ...lr, schedule: 'cosine' } });
    for (let s = 0; s < 45; s++) {
      expect(learningRate(config, s)).toBe(cosineLearningRate({ lr: 3e-3, warmupSteps: 5, totalSteps: 40, minFactor: 0.1 }, s));
    }
  });

  it('constant warms up, then holds the peak even with a run length', () => {
    const config = parseRunConfig({ totalSteps: 40, lr: { ...lr, schedule: 'constant' } });
    expect(learningRate(config, 0)).toBeCloseTo(6e-4, 12);
    for (const s of [4, 5, 30, 39, 40, 1000]) expect(learningRate(config, s)).toBe(3e-3);
  });

  it('lrBits are the f32 bits of the schedule value at every step', () => {
    const config = parseRunConfig({ totalSteps: 40, lr: { ...lr, schedule: 'wsd' } });
    for (let s = 0; s < 45; s++) {
      const want = bitsOf(learningRate(config, s));
      expect(lrBits(config, s)).toBe(want);
      expect(new Float32Array(new Uint32Array([want]).buffer)[0]).toBe(Math.fround(learningRate(config, s)));
    }
  });

  it('f32Bits matches known patterns', () => {
    expect(f32Bits(1)).toBe(0x3f800000);
    expect(f32Bits(-2)).toBe(0xc0000000);
    expect(f32Bits(0)).toBe(0);
    expect(f32Bits(0.1)).toBe(0x3dcccccd);
  });

  it('the config refuses cosine without a run length', () => {
    expect(() => parseRunConfig({ lr: { schedule: 'cosine' } })).toThrow(/cosine schedule needs totalSteps > 0/);
    expect(() => parseRunConfig({ lr: { schedule: 'cosine' }, totalSteps: 10 })).not.toThrow();
  });
});

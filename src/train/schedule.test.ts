import { describe, expect, it } from 'vitest';
import { wsdLearningRate } from './schedule';

const s = { lr: 1e-3, warmupSteps: 10, totalSteps: 100, decayFraction: 0.2, minFactor: 0.1 };

describe('wsdLearningRate', () => {
  it('warms up linearly from lr/warmup to lr', () => {
    expect(wsdLearningRate(s, 0)).toBeCloseTo(1e-4, 12);
    expect(wsdLearningRate(s, 4)).toBeCloseTo(5e-4, 12);
    expect(wsdLearningRate(s, 9)).toBeCloseTo(1e-3, 12);
  });

  it('holds lr through the stable phase', () => {
    expect(wsdLearningRate(s, 10)).toBe(1e-3);
    expect(wsdLearningRate(s, 79)).toBe(1e-3);
  });

  it('decays linearly to minFactor·lr at the last step', () => {
    expect(wsdLearningRate(s, 90)).toBeCloseTo(0.55e-3, 12);
    expect(wsdLearningRate(s, 100)).toBeCloseTo(1e-4, 12);
  });

  it('never decays when training until stopped', () => {
    expect(wsdLearningRate({ ...s, totalSteps: 0 }, 10_000)).toBe(1e-3);
  });
});

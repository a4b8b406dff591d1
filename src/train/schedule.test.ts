import { describe, expect, it } from 'vitest';
import { cosineLearningRate, scheduledLearningRate, wsdLearningRate } from './schedule';

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

describe('cosineLearningRate', () => {
  const c = { lr: 1e-3, warmupSteps: 10, totalSteps: 110, minFactor: 0.1 };
  it('warms up, then falls from lr through the midpoint to minFactor·lr', () => {
    expect(cosineLearningRate(c, 4)).toBeCloseTo(5e-4, 12);
    expect(cosineLearningRate(c, 10)).toBeCloseTo(1e-3, 12);
    expect(cosineLearningRate(c, 60)).toBeCloseTo(0.55e-3, 12);
    expect(cosineLearningRate(c, 110)).toBeCloseTo(1e-4, 12);
    expect(cosineLearningRate(c, 500)).toBeCloseTo(1e-4, 12);
  });

  it('is monotone after the warmup', () => {
    for (let s = 10; s < 110; s++) expect(cosineLearningRate(c, s + 1)).toBeLessThanOrEqual(cosineLearningRate(c, s));
  });
});

describe('scheduledLearningRate', () => {
  const base = { peak: 1e-3, warmupSteps: 10, decayFraction: 0.2, minFactor: 0.1 };
  it('dispatches to the named schedule', () => {
    expect(scheduledLearningRate({ ...base, schedule: 'wsd' }, 100, 95)).toBe(wsdLearningRate({ ...base, lr: 1e-3, totalSteps: 100 }, 95));
    expect(scheduledLearningRate({ ...base, schedule: 'cosine' }, 100, 50)).toBe(cosineLearningRate({ ...base, lr: 1e-3, totalSteps: 100 }, 50));
  });
  it('constant warms up, then never decays', () => {
    const c = { ...base, schedule: 'constant' as const };
    expect(scheduledLearningRate(c, 100, 4)).toBeCloseTo(5e-4, 12);
    expect(scheduledLearningRate(c, 100, 99)).toBe(1e-3);
    expect(scheduledLearningRate(c, 100, 10_000)).toBe(1e-3);
  });
});

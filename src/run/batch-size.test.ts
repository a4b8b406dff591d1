import { describe, expect, it } from 'vitest';
import { globalBatchSize } from './batch-size';

describe('globalBatchSize', () => {
  it('is the end size without a ramp', () => {
    expect(globalBatchSize({ start: 4, end: 16, warmupTokens: 0 }, 0)).toBe(16);
    expect(globalBatchSize({ start: 4, end: 16, warmupTokens: 0 }, 1e9)).toBe(16);
  });

  it('ramps linearly from start to end over warmupTokens, rounded', () => {
    const ramp = { start: 4, end: 16, warmupTokens: 1200 };
    expect(globalBatchSize(ramp, 0)).toBe(4);
    expect(globalBatchSize(ramp, 300)).toBe(7);
    expect(globalBatchSize(ramp, 600)).toBe(10);
    expect(globalBatchSize(ramp, 650)).toBe(11); // 10.5 rounds up
    expect(globalBatchSize(ramp, 1199)).toBe(16);
    expect(globalBatchSize(ramp, 1200)).toBe(16);
    expect(globalBatchSize(ramp, 5000)).toBe(16);
  });

  it('ramps down as well as up', () => {
    expect(globalBatchSize({ start: 16, end: 8, warmupTokens: 100 }, 50)).toBe(12);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCpuTicks, parseRssBytes } from './proc-sampler';
import { largestWithin, quantile, summarize } from './stats';

describe('quantile', () => {
  it('interpolates between closest ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0)).toBe(1);
    expect(quantile([4, 1, 3, 2], 1)).toBe(4);
    expect(quantile([5], 0.99)).toBe(5);
    // p99 of 1..10 is 9.91: between the two largest, near the top.
    expect(quantile([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0.99)).toBeCloseTo(9.91, 10);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5.5);
    expect(Number.isNaN(quantile([], 0.5))).toBe(true);
    expect(() => quantile([1], 1.5)).toThrow();
  });

  it('does not reorder its input', () => {
    const v = [3, 1, 2];
    quantile(v, 0.5);
    expect(v).toEqual([3, 1, 2]);
  });

  it('summarizes', () => {
    expect(summarize([1, 2, 3, 10])).toEqual({ n: 4, p50: 2.5, p99: 10 - 0.03 * 7, mean: 4, max: 10 });
  });
});

describe('largestWithin', () => {
  it('is the largest N before the first one over the factor or unmeasured', () => {
    const pts = [
      { n: 10, value: 1 },
      { n: 50, value: 1.5 },
      { n: 100, value: 2 },
      { n: 200, value: 2.1 },
      { n: 500, value: 1 },
    ];
    expect(largestWithin(pts, 2)).toBe(100);
    expect(largestWithin([{ n: 10, value: 1 }, { n: 50, value: null }, { n: 100, value: 1 }], 2)).toBe(10);
    expect(largestWithin([{ n: 10, value: null }], 2)).toBeNull();
  });
});

describe('/proc parsing', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const stat = '1234 (node (vite) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 500 1000 200';
    expect(parseCpuTicks(stat)).toBe(325);
  });
  it('reads VmRSS in bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmPeak:\t 9 kB\nVmRSS:\t  345600 kB\n')).toBe(345600 * 1024);
  });
});

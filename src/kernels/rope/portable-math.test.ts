import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../testing/random';
import { portableExp, portableLog, portablePow, portableSinCos } from './portable-math';

/** Distance in units of the last place of `ref`. */
function ulps(got: number, ref: number): number {
  return Math.abs(got - ref) / (Math.abs(ref) * Number.EPSILON || Number.MIN_VALUE);
}

describe('portable math (the same bits in every JS engine)', () => {
  const rand = mulberry32(7);

  it('log and exp agree with Math within a few ulp', () => {
    for (let i = 0; i < 2000; i++) {
      const x = Math.exp((rand() - 0.5) * 60);
      expect(ulps(portableLog(x), Math.log(x))).toBeLessThan(4);
      const y = (rand() - 0.5) * 80;
      expect(ulps(portableExp(y), Math.exp(y))).toBeLessThan(4);
    }
    expect(portableLog(1)).toBe(0);
    expect(portableExp(0)).toBe(1);
  });

  it('pow(theta, −2i/dr) matches Math.pow for RoPE frequencies', () => {
    for (const theta of [10000, 500000, 1e6]) {
      for (let i = 0; i < 64; i++) expect(ulps(portablePow(theta, (-2 * i) / 128), Math.pow(theta, (-2 * i) / 128))).toBeLessThan(16);
    }
  });

  it('sin and cos agree with Math to 1e-15 over positions × frequencies', () => {
    for (let i = 0; i < 5000; i++) {
      const x = rand() * 70000 * (rand() < 0.5 ? -1 : 1);
      const { sin, cos } = portableSinCos(x);
      expect(Math.abs(sin - Math.sin(x))).toBeLessThan(1e-15 * Math.max(1, Math.abs(x) / 1000));
      expect(Math.abs(cos - Math.cos(x))).toBeLessThan(1e-15 * Math.max(1, Math.abs(x) / 1000));
    }
    expect(portableSinCos(0)).toEqual({ sin: 0, cos: 1 });
  });

  it('rejects inputs outside its domain', () => {
    expect(() => portableLog(0)).toThrow(RangeError);
    expect(() => portableExp(Infinity)).toThrow(RangeError);
    expect(() => portableSinCos(2e6)).toThrow(RangeError);
  });
});

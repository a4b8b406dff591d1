import { describe, expect, it } from 'vitest';
import { argmax, GREEDY, sampleToken, seededRandom, type Sampling } from './sampling';

const logits = Float32Array.from([1, 3, 2, 3, -1]);
const sample = (s: Partial<Sampling>, seen: number[] = [], seed = 1, x = logits) => sampleToken(x, seen, { ...GREEDY, temperature: 1, ...s }, seededRandom(seed));

function frequencies(s: Partial<Sampling>, x: Float32Array, draws: number): number[] {
  const random = seededRandom(42);
  const counts = new Array<number>(x.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(x, [], { ...GREEDY, ...s }, random)]++;
  return counts.map((c) => c / draws);
}

describe('sampling', () => {
  it('greedy takes the largest logit, the lowest index on a tie', () => {
    expect(argmax(logits)).toBe(1);
    expect(sampleToken(logits, [], GREEDY, () => 0.99)).toBe(1);
  });

  it('applies the repetition penalty before choosing: positive logits divided, negative multiplied', () => {
    // Token 1 seen: 3/2 = 1.5 < 3, so greedy takes token 3.
    expect(sampleToken(logits, [1], { ...GREEDY, repetitionPenalty: 2 }, () => 0)).toBe(3);
    // Both 3s seen: 1.5 each; token 2 (2) wins.
    expect(sampleToken(logits, [1, 3, 3], { ...GREEDY, repetitionPenalty: 2 }, () => 0)).toBe(2);
    // A negative logit gets more negative, never likelier.
    const neg = Float32Array.from([-1, -1.5]);
    expect(sampleToken(neg, [0], { ...GREEDY, repetitionPenalty: 2 }, () => 0)).toBe(1);
  });

  it('top-k 1 is greedy whatever the random draw', () => {
    for (let seed = 0; seed < 20; seed++) expect(sample({ topK: 1 }, [], seed)).toBe(1);
  });

  it('top-k keeps only the k likeliest', () => {
    const f = frequencies({ temperature: 1, topK: 3 }, logits, 4000);
    expect(f[0]).toBe(0);
    expect(f[4]).toBe(0);
    expect(f[1] + f[2] + f[3]).toBeCloseTo(1, 10);
  });

  it('top-p keeps the smallest likeliest set reaching p', () => {
    // softmax([3, 3, 2, 1, -1]) ≈ 0.4, 0.4, 0.15, 0.05, 0.007: p = 0.5 needs the two 3s.
    const f = frequencies({ temperature: 1, topP: 0.5 }, logits, 4000);
    expect(f[0] + f[2] + f[4]).toBe(0);
    expect(f[1]).toBeGreaterThan(0.4);
    expect(f[3]).toBeGreaterThan(0.4);
  });

  it('samples in proportion to softmax(logits / temperature)', () => {
    for (const temperature of [1, 0.5, 2]) {
      const f = frequencies({ temperature }, logits, 20000);
      const e = Array.from(logits, (l) => Math.exp(l / temperature));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((v, i) => expect(Math.abs(f[i] - v / z), `temperature ${temperature}, token ${i}`).toBeLessThan(0.015));
    }
  });

  it('repeats exactly with the same seed, and differs with another', () => {
    const run = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, [], { ...GREEDY, temperature: 1.5 }, random));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });
});

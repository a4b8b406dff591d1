import { describe, expect, it } from 'vitest';
import { meshGraph, meshLinks, ringOffsets } from './mesh-links';

const RUN = '7465737365726100000000000000d3f0';
const OTHER_RUN = '00112233445566778899aabbccddeeff';
const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `client-${(i + from).toString().padStart(4, '0')}`);

/** Members reachable from the first one, by breadth-first search. */
function reachable(graph: Map<string, Set<string>>): number {
  const start = graph.keys().next().value as string;
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) for (const b of graph.get(queue.shift()!)!) if (!seen.has(b)) (seen.add(b), queue.push(b));
  return seen.size;
}

/** The longest shortest path between two members. */
function diameter(graph: Map<string, Set<string>>): number {
  let worst = 0;
  for (const start of graph.keys()) {
    const dist = new Map([[start, 0]]);
    const queue = [start];
    while (queue.length > 0) {
      const a = queue.shift()!;
      for (const b of graph.get(a)!) if (!dist.has(b)) (dist.set(b, dist.get(a)! + 1), queue.push(b));
    }
    worst = Math.max(worst, ...dist.values());
  }
  return worst;
}

const edges = (g: Map<string, Set<string>>) => new Set([...g].flatMap(([a, bs]) => [...bs].filter((b) => a < b).map((b) => `${a}|${b}`)));

describe('meshGraph', () => {
  it('is symmetric, without self links, of degree ≤ D, connected, for many sizes and degrees', () => {
    for (const n of [2, 3, 4, 5, 6, 7, 9, 16, 33, 100, 257]) {
      for (const d of [2, 3, 4, 5, 8, 12]) {
        const g = meshGraph(ids(n), d, RUN);
        expect(g.size).toBe(n);
        for (const [a, links] of g) {
          expect(links.has(a), `${a} links to itself`).toBe(false);
          expect(links.size, `degree of ${a} (n ${n}, D ${d})`).toBeLessThanOrEqual(Math.max(d, 0));
          for (const b of links) expect(g.get(b)!.has(a), `${a}→${b} but not back`).toBe(true);
        }
        expect(reachable(g), `connected (n ${n}, D ${d})`).toBe(n);
      }
    }
  });

  it('uses the degree it is given: a ring at D = 2, every member at D (n large enough, D even)', () => {
    for (const [a, links] of meshGraph(ids(5), 2, RUN)) expect(links.size, a).toBe(2);
    for (const [a, links] of meshGraph(ids(100), 8, RUN)) expect(links.size, a).toBe(8);
  });

  it('keeps the hops between members few at any size (the chords spread geometrically)', () => {
    // A ring of 500 has diameter 250; doubling chords 1, 2, 4, 8 left it at 32, chords 1, 4, 16, 64 at 8.
    expect(diameter(meshGraph(ids(500), 8, RUN))).toBeLessThanOrEqual(8);
    expect(diameter(meshGraph(ids(257), 8, RUN))).toBeLessThanOrEqual(8);
    expect(diameter(meshGraph(ids(200), 8, RUN))).toBeLessThanOrEqual(6);
    expect(diameter(meshGraph(ids(257), 16, RUN))).toBeLessThanOrEqual(8);
  });

  it('is the full mesh at D = 0 and at D ≥ N − 1', () => {
    for (const [n, d] of [[6, 0], [6, 5], [6, 9], [2, 2]]) {
      for (const [, links] of meshGraph(ids(n), d, RUN)) expect(links.size).toBe(n - 1);
    }
  });

  it('depends on the member set and the run, not on the order of the slots', () => {
    const a = meshGraph(ids(40), 4, RUN);
    const shuffled = ids(40).reverse();
    expect(edges(meshGraph(shuffled, 4, RUN))).toEqual(edges(a));
    expect(edges(meshGraph(ids(40), 4, OTHER_RUN))).not.toEqual(edges(a));
  });

  it('changes few links when one member joins or leaves (links last across rounds)', () => {
    const before = edges(meshGraph(ids(60), 8, RUN));
    const joined = edges(meshGraph(ids(61), 8, RUN));
    const left = edges(meshGraph(ids(60).filter((id) => id !== 'client-0030'), 8, RUN));
    const changed = (x: Set<string>, y: Set<string>) => [...x].filter((e) => !y.has(e)).length + [...y].filter((e) => !x.has(e)).length;
    // 240 links; the offsets stay 1, 2, 4, 16, so a join removes at most the links spanning its place (their sum)
    // and adds its own and their replacements.
    expect(before.size).toBe(240);
    expect(ringOffsets(61, 8)).toEqual(ringOffsets(60, 8));
    expect(changed(before, joined)).toBeLessThanOrEqual(2 * 23 + 8);
    expect(changed(before, left)).toBeLessThanOrEqual(2 * 23 + 8);
    expect(changed(before, joined)).toBeGreaterThan(0);
  });

  it('refuses degree 1 and negative or fractional degrees', () => {
    for (const d of [1, -1, 2.5]) expect(() => meshGraph(ids(5), d, RUN)).toThrow(RangeError);
  });
});

describe('meshLinks', () => {
  it("is a member's row of the graph, and empty for a non-member", () => {
    const g = meshGraph(ids(9), 4, RUN);
    for (const id of ids(9)) expect(meshLinks(id, ids(9), 4, RUN)).toEqual(g.get(id));
    expect(meshLinks('stranger', ids(9), 4, RUN).size).toBe(0);
  });
});

describe('ringOffsets', () => {
  it('spreads the chords geometrically to n/2 by powers of a power of two, then fills with the smallest unused offsets', () => {
    expect(ringOffsets(33, 8)).toEqual([1, 2, 4, 8]);
    expect(ringOffsets(100, 8)).toEqual([1, 2, 4, 16]);
    expect(ringOffsets(500, 8)).toEqual([1, 4, 16, 64]);
    expect(ringOffsets(513, 8)).toEqual([1, 4, 16, 64]);
    expect(ringOffsets(514, 8)).toEqual([1, 2, 8, 64]);
    expect(ringOffsets(257, 16)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(ringOffsets(10, 8)).toEqual([1, 2, 3, 4]);
    expect(ringOffsets(5, 2)).toEqual([1]);
    expect(ringOffsets(7, 6)).toEqual([1, 2, 3]);
  });
});

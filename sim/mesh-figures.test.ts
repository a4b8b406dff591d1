import { describe, expect, it } from 'vitest';
import { meshFigures } from './mesh-figures';

const RUN_ID = 'fedcba9876543210fedcba9876543210';
const ids = (n: number) => Array.from({ length: n }, (_, i) => `member-${i}`);

describe('meshFigures', () => {
  it('is the full mesh, one hop, while N − 1 ≤ D', () => {
    expect(meshFigures(ids(9), 8, RUN_ID)).toEqual({ degree: 8, maxLinks: 8, hops: 1 });
  });

  it('bounds the links by D and keeps the hops few beyond it', () => {
    // Geometric chords (src/net/mesh-links.ts ringOffsets) shortcut the ring, which alone would need N/2 hops.
    for (const n of [10, 50, 200, 500]) {
      const m = meshFigures(ids(n), 8, RUN_ID);
      expect(m.maxLinks).toBe(8);
      expect(m.hops).toBeGreaterThan(1);
      expect(m.hops).toBeLessThanOrEqual(8);
    }
    expect(meshFigures(ids(12), 2, RUN_ID)).toEqual({ degree: 2, maxLinks: 2, hops: 6 });
  });
});

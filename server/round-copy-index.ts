/**
 * Which of its round's earlier updates a new upload is compared with exactly
 * (server/copy-check.ts). Comparing with every one is O(N) exact
 * intersections per upload, O(N²) a round, on the event loop: 63–70 % of the
 * coordinator's CPU for 100 M-sized updates (docs/scale.md). Instead each
 * update gets a wide MinHash sketch of its (tensor, block, index) set, cut
 * into bands of `rows` bins; only earlier updates sharing a band are
 * candidates, so unrelated updates cost nothing beyond the sketch.
 *
 * Two sets share a bin's minimum with probability equal to their Jaccard
 * similarity J, so a pair at the copy threshold θ (overlap θ means
 * J = θ / (2 − θ): every update of a run has the same number of keys) shares
 * no band with probability (1 − J^rows)^bands. bandPlan picks the most rows
 * (fewest stray candidates) that keep this under MISS; where no plan can (too
 * few keys for enough well-filled bins, or a threshold so low that banding
 * would select everyone anyway) the caller compares with everyone, as before.
 * Above the threshold the miss probability only falls. The bins are hashed
 * with the coordinator's secret seed, so nobody can aim at the minima.
 */
import { keyHash, type SketchSeed } from '../src/verify/sketch';
import { fmix32 } from '../src/kernels/checksum/u32-mix';

/** At most this many bins (10 bits pick the bin). */
const MAX_BINS = 1020;
/** Bins need this many keys each on average for their minima to behave as MinHash's. */
const KEYS_PER_BIN = 8;
/** The most likely a pair at the threshold may go uncompared. */
export const MISS = 1e-12;

export interface BandPlan {
  rows: number;
  bands: number;
}

/** The banding for copies at `thresholdPermille` among sets of `keyCount` keys, or null when only comparing with everyone is safe. */
export function bandPlan(thresholdPermille: number, keyCount: number): BandPlan | null {
  const bins = Math.min(MAX_BINS, Math.floor(keyCount / KEYS_PER_BIN));
  const theta = thresholdPermille / 1000;
  const j = theta / (2 - theta);
  for (let rows = 8; rows >= 2; rows--) {
    const bands = Math.floor(bins / rows);
    if (bands > 0 && missProbability(j, { rows, bands }) <= MISS) return { rows, bands };
  }
  return null;
}

export function missProbability(jaccard: number, plan: BandPlan): number {
  return Math.pow(1 - Math.pow(jaccard, plan.rows), plan.bands);
}

export class RoundCopyIndex {
  /** Band key (band · 2^32 + hash of its rows) → hashes of the updates with it. */
  private readonly buckets = new Map<number, string[]>();

  constructor(
    readonly plan: BandPlan,
    /** Every update of the run has this many keys; an update of another size is compared with everyone. */
    readonly keyCount: number,
    private readonly seed: SketchSeed,
  ) {}

  /** The earlier updates that share a band with `keys`; `hash` then joins the index. */
  candidatesAndAdd(hash: string, keys: Float64Array): Set<string> {
    const found = new Set<string>();
    for (const band of this.bandKeys(keys)) {
      const bucket = this.buckets.get(band);
      if (bucket === undefined) this.buckets.set(band, [hash]);
      else {
        for (const h of bucket) found.add(h);
        bucket.push(hash);
      }
    }
    found.delete(hash);
    return found;
  }

  private bandKeys(keys: Float64Array): number[] {
    const { rows, bands } = this.plan;
    const bins = rows * bands;
    const mins = new Uint32Array(bins).fill(0xffffffff);
    for (let i = 0; i < keys.length; i++) {
      const h = keyHash(keys[i], this.seed);
      const bin = ((h >>> 22) * bins) >>> 10;
      const value = h & 0x3fffff;
      if (value < mins[bin]) mins[bin] = value;
    }
    const out: number[] = [];
    for (let band = 0; band < bands; band++) {
      let h = this.seed[1] ^ band;
      for (let r = 0; r < rows; r++) h = fmix32((h ^ mins[band * rows + r]) + 0x9e3779b9);
      out.push(band * 2 ** 32 + h);
    }
    return out;
  }
}

/**
 * The coordinator's exact check for copies (docs/verification.md "Exact
 * checks"): a new update's (tensor, block, index) set is compared with the
 * updates accepted earlier in its round that the round's index
 * (round-copy-index.ts) names, which misses a copy at the threshold with
 * probability under 10⁻¹² (or with every one of them where the index cannot
 * promise that), and with every earlier update of the whole run that the
 * sketch index (src/verify/sketch.ts) says may be similar. The largest exact overlap goes into the commit event and the
 * state machine decides when commits close (src/run/copy-rule.ts): at or over
 * the line and standing out from the round's other updates, whose nearest
 * overlaps it also has from their commit events, so nothing more is measured
 * here. Nobody can copy bytes before they are committed, so the later commit
 * is the copier.
 *
 * Signs are left out on purpose: honest updates of one round share
 * coefficients with the same signs, so signs never make two honest updates
 * look less alike, while a copier who flips signs (or makes them up) at the
 * copied indices would otherwise slip under the threshold.
 *
 * The index lives in the store, so a restarted coordinator still finds
 * copies of everything accepted before the restart.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { decodeUpdate } from '../src/protocol/update-codec';
import { indexKeys, overlap, updateKeys } from '../src/verify/overlap';
import { sketchBands, sketchSeed, updateSketch, type SketchSeed } from '../src/verify/sketch';
import { bandPlan, RoundCopyIndex } from './round-copy-index';
import type { RunModel } from './run-model';
import type { Store } from './store';

type Keys = ReturnType<typeof updateKeys>;

/** Index candidates compared exactly per upload: a true copy shares most bands, so it ranks first. */
const CANDIDATES = 16;

export class CopyCheck {
  /** This round's accepted payloads and their keys, in commit order. */
  private round: { step: number; keys: Map<string, Keys>; index: RoundCopyIndex | null } = { step: -1, keys: new Map(), index: null };
  private readonly seed: SketchSeed;

  constructor(
    private readonly store: Store,
    private readonly rm: RunModel,
    /** The run's verification.maxOverlapPermille: the round's index must not miss a copy at it. */
    private readonly thresholdPermille: number,
  ) {
    // Seeded by the run's secret, so nobody can aim at the sketch's minima (see sketch.ts).
    this.seed = sketchSeed(hmac(sha256, hexToBytes(store.verifySecret()), new TextEncoder().encode('tessera-copy-sketch')));
  }

  /** The largest overlap (per-mille) of `hash`'s payload with an earlier one, or null when there is nothing to compare with. */
  check(step: number, hash: string): { permille: number; with: string } | null {
    if (this.round.step !== step) this.round = { step, keys: new Map(), index: null };
    return this.checkKeys(step, hash, this.keysOf(hash));
  }

  /** As check, for an update whose (tensor, block, index) keys the caller already has (sorted, as indexKeys gives them). */
  checkKeys(step: number, hash: string, mine: Keys): { permille: number; with: string } | null {
    if (this.round.step !== step) this.round = { step, keys: new Map(), index: null };
    const bands = sketchBands(updateSketch(mine, this.seed), this.seed);
    const others = this.roundCandidates(hash, mine);
    for (const c of this.store.similarByBands(bands, hash, CANDIDATES)) {
      if (others.has(c.hash)) continue;
      const keys = this.storedKeys(c.hash);
      if (keys !== null) others.set(c.hash, keys);
    }
    let best: { permille: number; with: string } | null = null;
    for (const [other, keys] of others) {
      if (other === hash) continue;
      const permille = Math.floor(1000 * overlap(mine, keys));
      if (best === null || permille > best.permille) best = { permille, with: other };
    }
    this.round.keys.set(hash, mine);
    this.store.putBands(hash, step, bands);
    return best;
  }

  /** The round's earlier updates to compare with exactly: the index's candidates, or all of them where it cannot promise. */
  private roundCandidates(hash: string, mine: Keys): Map<string, Keys> {
    const r = this.round;
    if (r.index === null && r.keys.size === 0) {
      const plan = bandPlan(this.thresholdPermille, mine.length);
      if (plan !== null) r.index = new RoundCopyIndex(plan, mine.length, this.seed);
    }
    if (r.index === null || r.index.keyCount !== mine.length) return new Map(r.keys);
    const out = new Map<string, Keys>();
    for (const h of r.index.candidatesAndAdd(hash, mine)) {
      const keys = r.keys.get(h);
      if (keys !== undefined) out.set(h, keys);
    }
    return out;
  }

  private keysOf(hash: string): Keys {
    const keys = this.round.keys.get(hash) ?? this.storedKeys(hash);
    if (keys === null) throw new Error(`copy check: payload ${hash} is not stored`);
    return keys;
  }

  private storedKeys(hash: string): Keys | null {
    const bytes = this.store.getPayload(hash);
    return bytes === null ? null : indexKeys(updateKeys(decodeUpdate(bytes, this.rm.expected)));
  }
}

/**
 * The coordinator's exact check for copies (docs/verification.md "Exact
 * checks"): a new update's (tensor, block, index, sign) set is compared with
 * every update accepted earlier in its round and every agreed update of the
 * last `overlapRounds` rounds. The largest overlap goes into the commit event
 * and the state machine decides. Nobody can copy bytes before they are
 * committed, so within a round the later commit is the copier.
 */
import { decodeUpdate } from '../src/protocol/update-codec';
import type { RunConfig } from '../src/run/run-config';
import { overlap, updateKeys } from '../src/verify/overlap';
import type { RunModel } from './run-model';
import type { Store } from './store';

type Keys = ReturnType<typeof updateKeys>;

export class CopyCheck {
  /** Keys by payload hash, for the payloads of the rounds still compared against. */
  private readonly keys = new Map<string, { step: number; keys: Keys }>();
  /** This round's accepted payloads, in commit order. */
  private round: { step: number; hashes: string[] } = { step: -1, hashes: [] };

  constructor(
    private readonly store: Store,
    private readonly rm: RunModel,
    private readonly config: RunConfig,
  ) {}

  /** The largest overlap (per-mille) of `hash`'s payload with an earlier one, or null when there is nothing to compare with. */
  check(step: number, hash: string): { permille: number; with: string } | null {
    if (this.round.step !== step) this.round = { step, hashes: [] };
    const mine = this.keysOf(hash, step);
    let best: { permille: number; with: string } | null = null;
    for (const other of this.candidates(step)) {
      if (other === hash) continue;
      const permille = Math.floor(1000 * overlap(mine, this.keysOf(other, step)));
      if (best === null || permille > best.permille) best = { permille, with: other };
    }
    if (!this.round.hashes.includes(hash)) this.round.hashes.push(hash);
    this.prune(step);
    return best;
  }

  private candidates(step: number): string[] {
    const from = Math.max(0, step - this.config.verification.overlapRounds);
    const agreed = this.store.agreedRange(from, step).flatMap((r) => r.hashes);
    return [...agreed, ...this.round.hashes];
  }

  private keysOf(hash: string, step: number): Keys {
    const known = this.keys.get(hash);
    if (known) return known.keys;
    const bytes = this.store.getPayload(hash);
    if (bytes === null) throw new Error(`copy check: payload ${hash} is not stored`);
    const keys = updateKeys(decodeUpdate(bytes, this.rm.expected));
    this.keys.set(hash, { step, keys });
    return keys;
  }

  private prune(step: number): void {
    const oldest = step - this.config.verification.overlapRounds - 1;
    for (const [hash, k] of this.keys) if (k.step < oldest) this.keys.delete(hash);
  }
}

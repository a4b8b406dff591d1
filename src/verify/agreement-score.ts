/**
 * The verifier's score (docs/verification.md "The score"): how an update's
 * kept coefficients agree in sign with the verifier's own update of the same
 * round. Both were trained from the same parameters on the same kind of data,
 * and honest DeMo updates of one round agree in sign on almost every
 * coefficient they share (measured: sign overlap 0.301 against index overlap
 * 0.303 on average), while made-up signs agree on half of them and made-up
 * indices share few. The score is (same sign − opposite sign) over the
 * smaller update's coefficient count: honest pairs land near their index
 * overlap, garbage near zero.
 *
 * It needs no gradient, so verifying costs a decode and a merge of two
 * sorted key lists, not a forward and backward pass. Copies and replays,
 * which would agree perfectly, are the coordinator's exact check's job.
 */
import { indexOverlap, overlap, updateKeys } from './overlap';
import type { ClientUpdate } from '../protocol/update-codec';

/** (same − opposite) / min(|a|, |b|) over shared (tensor, block, index), as integer per-mille in [−1000, 1000]. */
export function agreementPermille(candidate: Pick<ClientUpdate, 'tensors'>, own: Pick<ClientUpdate, 'tensors'>): number {
  const a = updateKeys(candidate);
  const b = updateKeys(own);
  // |same| = overlap·m and |shared| = indexOverlap·m, so same − opposite = (2·overlap − indexOverlap)·m.
  const x = 2 * overlap(a, b) - indexOverlap(a, b);
  return Math.max(-1000, Math.min(1000, Math.round(1000 * x)));
}

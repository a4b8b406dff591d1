/**
 * Which updates of the round a verifier scores a candidate against
 * (docs/verification.md "The score"): its own first, then the other trusted
 * slots (members past probation that it holds) in slot order starting after
 * its own, never the candidate's, at most `max` in all. Starting after its
 * own spreads the references of different verifiers over the round, so one
 * odd update is not in every verifier's sum.
 */
export function referenceSlots(own: number, trusted: readonly number[], candidate: number, max: number, slotCount: number): number[] {
  const after = (s: number) => (s - own + slotCount) % slotCount;
  const others = [...new Set(trusted)].filter((s) => s !== own && s !== candidate).sort((a, b) => after(a) - after(b));
  return own === candidate ? [] : [own, ...others].slice(0, Math.max(0, max));
}

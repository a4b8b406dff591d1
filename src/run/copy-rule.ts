/**
 * Which of a round's updates are copies (docs/verification.md "Exact
 * checks"), decided when its commits close from what each commit event
 * measured: the largest (tensor, block, index) overlap of the update with an
 * earlier one of the run, and which one (server/copy-check.ts).
 *
 * A fixed overlap line cannot do it alone: honest DeMo updates of one round
 * converge on the shared gradient as each member's batch grows, so with 16
 * sequences a tab two honest updates reached 801‰ and one was struck. What
 * separates a copy is that it is near one particular update, while an honest
 * update is about as near its nearest as every other honest update of the
 * round is to its own. So the round's level is the lower median of the other
 * updates' nearest overlaps within the round, and an update is a copy only
 * when its overlap reaches maxOverlapPermille AND covers at least
 * copyExcessPermille of the distance from that level to 1000‰ (the share of
 * the keys the round does not share anyway that it shares with its source).
 * With nothing to take a level from (a two-member round), the line itself
 * stands in for it: honest updates were measured under it.
 *
 * Decided at the close rather than at each commit: a copier commits after its
 * source and could otherwise commit second, when no other update exists yet
 * to tell it from an honest one.
 */
import type { CommitOverlap, Round, RunConfig } from './types';

type CopyConfig = Pick<RunConfig['verification'], 'maxOverlapPermille' | 'copyExcessPermille'>;

/** Per slot: why its update is a copy, or null. */
export function copyVerdicts(config: CopyConfig, round: Pick<Round, 'commitments' | 'overlaps'>): (string | null)[] {
  const levels = inRoundNearest(round);
  return round.overlaps.map((o, slot) => {
    if (o === null || round.commitments[slot] === null || o.permille < config.maxOverlapPermille) return null;
    const level = roundLevel(levels, slot, config.maxOverlapPermille);
    return isCopy(config, o.permille, level) ? copyReason(config, o, level) : null;
  });
}

/** Whether `permille` stands far enough above the round's `level`: its excess covers copyExcessPermille of 1000 − level. */
export function isCopy(config: CopyConfig, permille: number, level: number): boolean {
  if (permille < config.maxOverlapPermille || permille <= level) return false;
  return 1000 * (permille - level) >= config.copyExcessPermille * (1000 - level);
}

/** Per committed slot whose nearest is an update of this same round, that overlap: how alike the round's updates are. */
function inRoundNearest(round: Pick<Round, 'commitments' | 'overlaps'>): { slot: number; permille: number }[] {
  const own = new Set(round.commitments.filter((h): h is string => h !== null));
  const out: { slot: number; permille: number }[] = [];
  round.overlaps.forEach((o, slot) => {
    if (o !== null && round.commitments[slot] !== null && own.has(o.with)) out.push({ slot, permille: o.permille });
  });
  return out;
}

/** The lower median of the other slots' nearest overlaps (so a copy's own 1000‰ never sets it), or the line when none. */
function roundLevel(levels: { slot: number; permille: number }[], slot: number, line: number): number {
  const others = levels.filter((l) => l.slot !== slot).map((l) => l.permille).sort((a, b) => a - b);
  return others.length === 0 ? line : others[Math.floor((others.length - 1) / 2)];
}

function copyReason(config: CopyConfig, o: CommitOverlap, level: number): string {
  return (
    `a copy of update ${o.with.slice(0, 12)}: ${o.permille}‰ of its (tensor, block, index) set is the same ` +
    `(at most ${config.maxOverlapPermille - 1}‰ allowed, or less than ${config.copyExcessPermille}‰ of the way from the round's ${level}‰ to 1000‰)`
  );
}

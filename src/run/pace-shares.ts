/**
 * Batch shares sized by each member's measured pace (run config
 * `shareByPace`, docs/design.md §11 "Shares by pace").
 *
 * A round closes when its slowest member commits, so with equal shares a
 * fast tab's GPU waits for the slow one every round. The coordinator times
 * each commit from its round's start (its own clock: nothing a client
 * reports) and keeps a moving average of sequences per second per client.
 * The next round gives each member a share of the batch in proportion to
 * it, so all members' commits tend to arrive together: any split in which
 * every member takes the same time is a fixed point (its shares are
 * proportional to count / time), and a member slower than the rest loses
 * sequences until it is not.
 *
 * What a client can do with this: commit slowly to get fewer sequences —
 * its points follow its share (creditAuthors), so that earns less; commit a
 * fast garbage update to get more — verification strikes it as before, and
 * a client on probation never gets more than the equal share, so new keys
 * cannot take over the batch before they have been checked.
 */
import type { RunConfig } from './run-config';
import type { ClientRecord, Round } from './types';
import { onProbation } from './verification';

/** The weight of the newest measurement in the average: reacts within a few rounds, smooths one noisy one. */
const NEW_WEIGHT = 0.5;

/** Thousandths of a sequence per second that `count` sequences committed `ms` after the round started show. */
export function paceSample(count: number, ms: number): number {
  return Math.max(1, Math.round((count * 1_000_000) / Math.max(1, ms)));
}

/** The client's pace after a commit of its slot in `round` at `now`. */
export function recordPace(client: ClientRecord, round: Round, slot: number, now: number): void {
  const count = round.trained[slot] ?? round.assignments[slot].count;
  if (count === 0) return;
  const sample = paceSample(count, now - round.startedAt);
  client.pace = client.pace === null ? sample : Math.max(1, Math.round(NEW_WEIGHT * sample + (1 - NEW_WEIGHT) * client.pace));
}

/**
 * Per slot, how many of the round's `batch` sequences it trains: every
 * member at least one (when the batch has one for each), the rest in
 * proportion to pace. A member not measured yet weighs as the median of
 * those that are (all alike when none is). Clients on probation get at most
 * the equal share ⌈batch / n⌉; what that frees goes to the others.
 */
export function paceCounts(config: RunConfig, members: ClientRecord[], batch: number): number[] {
  const n = members.length;
  const fallback = medianPace(members) ?? 1;
  const weights = members.map((c) => c.pace ?? fallback);
  const caps = members.map((c) => (onProbation(config, c) ? Math.ceil(batch / n) : batch));
  return splitByWeight(batch, weights, caps);
}

/** Headroom of a time-boxed range over what its member reached in a box at its pace: room for a faster round. */
export const BOX_HEADROOM = 2;

/**
 * A time-boxed range while no member's pace is known (a run's first round):
 * the largest micro-batch a tab plans. The doubling of ranges trained whole
 * grows it from there. A share of a batch nobody reaches would make each of
 * the round's proof units most of what its author trained, and a young run
 * checks every update, so its witnesses would recompute a whole step each
 * and could miss the witness deadline.
 */
export const FIRST_BOX_RANGE = 64;

/**
 * With a time box, the pace split of the batch held to what each measured
 * member can reach: BOX_HEADROOM times its pace times the box, at least one.
 * The rest of the batch is not assigned, so the cursor skips only what the
 * headroom leaves, not the batch's surplus over the members' speed. A member
 * not measured yet is held as the median of those that are, as paceCounts
 * weighs it (to FIRST_BOX_RANGE while none is): a late joiner's range is then
 * about what it will reach, not a share of a batch nobody reaches, so its
 * proof units (an eighth of the range) stay a small part of what it trains
 * and the cursor skips little of it. A member that trained its whole
 * range in `last` (the round before) stopped before its box ended, so its
 * commit understates its pace (the first rounds' kernel compiles make it
 * low): its range at least doubles, within its split share, until the box
 * rather than the range ends its training.
 */
export function boxedCounts(config: RunConfig, members: ClientRecord[], counts: number[], last: Round | null = null): number[] {
  const fallback = medianPace(members);
  return counts.map((count, i) => {
    const pace = members[i].pace ?? fallback;
    if (pace === null) return Math.min(count, Math.max(FIRST_BOX_RANGE, 2 * wholeRange(last, members[i].id)));
    const reach = Math.ceil((BOX_HEADROOM * pace * config.trainTimeBox) / 1_000_000);
    return Math.min(count, Math.max(1, reach, 2 * wholeRange(last, members[i].id)));
  });
}

/** The range `id` trained whole in `round`, or 0 when it stopped short of it, did not commit or had no slot. */
function wholeRange(round: Round | null, id: string): number {
  const slot = round === null ? -1 : round.slots.indexOf(id);
  if (round === null || slot < 0) return 0;
  const { count } = round.assignments[slot];
  return round.trained[slot] === count ? count : 0;
}

/**
 * Largest-remainder split of `total` by `weights`, each part at least 1
 * (while total ≥ parts) and at most its cap; ties go to the lower index, so
 * every replica of the state machine gets the same split.
 */
export function splitByWeight(total: number, weights: number[], caps: number[]): number[] {
  const n = weights.length;
  if (n === 0) return [];
  const lo = total >= n ? 1 : 0;
  const hi = caps.map((c) => Math.max(c, lo));
  const ideal = boundedShares(total, weights, lo, hi);
  const counts = ideal.map((x, i) => Math.min(hi[i], Math.max(lo, Math.floor(x))));
  const byRemainder = ideal.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  let left = total - counts.reduce((a, b) => a + b, 0);
  // Rounding leaves a few sequences over (or, after bounds, short): largest remainders first, within the bounds.
  while (left !== 0) {
    const before = left;
    for (const { i } of left > 0 ? byRemainder : [...byRemainder].reverse()) {
      if (left > 0 && counts[i] < hi[i]) (counts[i]++, left--);
      else if (left < 0 && counts[i] > lo) (counts[i]--, left++);
      if (left === 0) break;
    }
    if (left === before) throw new RangeError(`splitByWeight: ${total} does not fit ${n} parts within their bounds`);
  }
  return counts;
}

/** Real-valued shares of `total` proportional to weight, each held within [lo, hi[i]]: the parts out of bounds are fixed at the bound and the rest re-split. */
function boundedShares(total: number, weights: number[], lo: number, hi: number[]): number[] {
  const fixed = new Map<number, number>();
  for (;;) {
    const free = weights.map((_, i) => i).filter((i) => !fixed.has(i));
    const rest = total - [...fixed.values()].reduce((a, b) => a + b, 0);
    const w = free.reduce((sum, i) => sum + weights[i], 0);
    const x = weights.map((wi, i) => fixed.get(i) ?? (w > 0 ? (rest * wi) / w : 0));
    const over = free.filter((i) => x[i] > hi[i]);
    const under = free.filter((i) => x[i] < lo);
    if (over.length > 0) over.forEach((i) => fixed.set(i, hi[i]));
    else if (under.length > 0) under.forEach((i) => fixed.set(i, lo));
    else return x;
  }
}

/** The median pace of the members measured so far, or null while none is. */
function medianPace(members: ClientRecord[]): number | null {
  const measured = members.map((c) => c.pace).filter((p): p is number => p !== null);
  return measured.length === 0 ? null : median(measured);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

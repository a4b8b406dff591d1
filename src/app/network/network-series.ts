/** The Network page's chart series, one function per chart, from the rounds it holds (x = step). */
import type { RoundHistory } from '../../net/history';
import type { ChartSeries } from '../charts/LossChart';
import { roundsPerMinuteAt } from './network-data';

const series = (name: string, rounds: readonly RoundHistory[], y: (r: RoundHistory, i: number) => number | null, style?: ChartSeries['style']): ChartSeries => ({
  name,
  style,
  points: rounds.flatMap((r, i) => {
    const v = y(r, i);
    return v === null ? [] : [{ x: r.step, y: v }];
  }),
});

export const lossSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [series('median loss', rounds, (r) => r.loss)];

export const tokensSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [series('tokens trained', rounds, (r) => r.tokensSeen)];

export const membersSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [series('members', rounds, (r) => r.members)];

export const rateSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [series('rounds / min', rounds, (_, i) => roundsPerMinuteAt(rounds, i))];

/** Where a round's time went (s): its two phases, and inside the train phase the median GPU training and the apply of the round before. */
export const timeSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [
  series('train phase', rounds, (r) => r.trainMs / 1000),
  series('witness phase', rounds, (r) => r.witnessMs / 1000),
  series('GPU training', rounds, (r) => (r.clientTrainMs === null ? null : r.clientTrainMs / 1000)),
  series('apply', rounds, (r) => (r.clientApplyMs === null ? null : r.clientApplyMs / 1000)),
];

export const bytesSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [series('agreed payloads (KiB)', rounds, (r) => r.bytes / 1024, 'bars')];

export const updatesSeries = (rounds: readonly RoundHistory[]): ChartSeries[] => [
  series('agreed', rounds, (r) => r.agreed, 'bars'),
  series('excluded', rounds, (r) => r.excluded, 'bars'),
];

/** The share of the latest rounds' time the median member's GPU was busy (training and applying), or null. */
export function utilization(rounds: readonly RoundHistory[], window = 10): number | null {
  const recent = rounds.slice(-window).filter((r) => r.clientTrainMs !== null);
  const total = recent.reduce((sum, r) => sum + r.trainMs + r.witnessMs, 0);
  if (recent.length === 0 || total <= 0) return null;
  return recent.reduce((sum, r) => sum + (r.clientTrainMs ?? 0) + (r.clientApplyMs ?? 0), 0) / total;
}

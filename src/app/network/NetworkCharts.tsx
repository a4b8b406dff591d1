/** The run's charts over its rounds (x = step): loss, tokens, members, pace, where each round's time went, bytes and updates. */
import { useMemo } from 'react';
import type { RoundHistory } from '../../net/history';
import { LossChart, type ChartSeries } from '../charts/LossChart';
import { bytesSeries, lossSeries, membersSeries, rateSeries, timeSeries, tokensSeries, updatesSeries } from './network-series';

interface ChartDef {
  id: string;
  title: string;
  yLabel: string;
  series: (rounds: readonly RoundHistory[]) => ChartSeries[];
}

const CHARTS: ChartDef[] = [
  { id: 'loss', title: 'Loss (median of the members’ reports)', yLabel: 'loss', series: lossSeries },
  { id: 'tokens', title: 'Tokens trained', yLabel: 'tokens', series: tokensSeries },
  { id: 'members', title: 'Members', yLabel: 'members', series: membersSeries },
  { id: 'rate', title: 'Rounds per minute', yLabel: 'rounds / min', series: rateSeries },
  { id: 'time', title: 'Round time: phases, GPU training and apply', yLabel: 's', series: timeSeries },
  { id: 'bytes', title: 'Agreed payload bytes per round', yLabel: 'KiB', series: bytesSeries },
  { id: 'updates', title: 'Agreed and excluded updates per round', yLabel: 'updates', series: updatesSeries },
];

export function NetworkCharts({ rounds }: { rounds: readonly RoundHistory[] }) {
  return (
    <div className="network-charts">
      {CHARTS.map((c) => (
        <NetworkChart key={c.id} def={c} rounds={rounds} />
      ))}
    </div>
  );
}

function NetworkChart({ def, rounds }: { def: ChartDef; rounds: readonly RoundHistory[] }) {
  const series = useMemo(() => def.series(rounds), [def, rounds]);
  return (
    <div className="card">
      <h2>{def.title}</h2>
      <LossChart series={series} height={220} yLabel={def.yLabel} integerX data-testid={`network-chart-${def.id}`} emptyText="Appears once a round has ended." />
    </div>
  );
}

/** The run at a glance: its phase, step, members, tokens, pace and the latest round's loss (data-value holds the raw numbers for tests). */
import type { RoundHistory, LiveStatus } from '../../net/history';
import { DASH, formatCount, formatInt, formatNum } from '../format';
import { Stat } from '../train/TrainStats';
import { roundsPerMinuteAt } from './network-data';
import { utilization } from './network-series';

export function NetworkSummary({ status, rounds }: { status: LiveStatus | null; rounds: readonly RoundHistory[] }) {
  const latest = rounds.at(-1);
  const rate = rounds.length > 1 ? roundsPerMinuteAt(rounds, rounds.length - 1) : null;
  const busy = utilization(rounds);
  return (
    <div className="stats">
      <Stat label="Round state">
        <span data-testid="network-phase">{status?.phase ?? DASH}</span>
      </Stat>
      <Stat label="Epoch · step">
        <span data-testid="network-step" data-value={status?.step ?? ''} data-epoch={status?.epoch ?? ''}>
          {status ? `${status.epoch} · ${formatInt(status.step)}` : DASH}
        </span>
      </Stat>
      <Stat label="Members">
        <span data-testid="network-members" data-value={status?.members ?? ''}>
          {status ? formatInt(status.members) : DASH}
        </span>
        {status && status.joining > 0 ? <span className="unit"> +{status.joining} joining</span> : null}
      </Stat>
      <Stat label="Tokens trained">
        <span data-testid="network-tokens" data-value={status?.tokensSeen ?? ''}>
          {status ? formatCount(status.tokensSeen) : DASH}
        </span>
      </Stat>
      <Stat label="Loss (median)">
        <span data-testid="network-loss" data-step={latest?.step ?? ''} data-value={latest?.loss ?? ''}>
          {formatNum(latest?.loss ?? undefined, 4)}
        </span>
      </Stat>
      <Stat label="Rounds / min">
        <span data-testid="network-rate">{rate === null ? DASH : formatNum(rate, 3)}</span>
      </Stat>
      <Stat label="GPU busy">
        <span data-testid="network-utilization" title="The median member's GPU time (training and applying) over the latest rounds' time">
          {busy === null ? DASH : `${Math.round(busy * 100)} %`}
        </span>
      </Stat>
    </div>
  );
}

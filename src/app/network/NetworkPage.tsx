/**
 * Network: the whole run, live, for anyone (no GPU needed): the loss across
 * all tabs, tokens, members, pace, where each round's time goes, traffic,
 * agreed and excluded updates, epochs and checkpoints, and the points
 * leaderboard. It loads the coordinator's history (GET /api/history) and
 * then follows its event stream (GET /api/events).
 */
import { ConnectionNotice } from './ConnectionNotice';
import { EpochList } from './EpochList';
import { LeaderboardTable } from './LeaderboardTable';
import { NetworkCharts } from './NetworkCharts';
import { NetworkSummary } from './NetworkSummary';
import { RoundsTable } from './RoundsTable';
import { useNetwork } from './useNetwork';

export function NetworkPage() {
  const net = useNetwork();
  return (
    <section data-testid="network-page">
      <h2 className="page-title">Network</h2>
      <p className="page-lead">
        The shared run as a whole, live: every volunteer's tab together. The loss is the median of what the members report with
        their updates; everything else is the coordinator's own record.
      </p>
      <ConnectionNotice connection={net.connection} error={net.error} />
      <NetworkSummary status={net.status} rounds={net.rounds} />
      <NetworkCharts rounds={net.rounds} />
      <div className="network-tables">
        <RoundsTable rounds={net.rounds} />
        <LeaderboardTable board={net.leaderboard} />
        <EpochList epochs={net.epochs} />
      </div>
    </section>
  );
}

/** The latest rounds, newest first, one row each with what the history says of it. */
import type { RoundHistory } from '../../net/history';
import { DASH, formatBytes, formatInt, formatNum } from '../format';

const SHOWN = 20;

const seconds = (ms: number | null) => (ms === null ? DASH : `${formatNum(ms / 1000, 3)} s`);

export function RoundsTable({ rounds }: { rounds: readonly RoundHistory[] }) {
  const latest = rounds.slice(-SHOWN).reverse();
  return (
    <div className="card">
      <h2>Latest rounds</h2>
      {latest.length === 0 ? (
        <p className="muted small">No round has ended yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data" data-testid="network-rounds">
            <thead>
              <tr>
                <th className="num">Step</th>
                <th className="num">Members</th>
                <th className="num">Agreed</th>
                <th className="num">Excluded</th>
                <th className="num">Loss</th>
                <th className="num">Train · witness</th>
                <th className="num">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {latest.map((r) => (
                <tr key={r.step} data-testid="network-round" data-step={r.step} data-loss={r.loss ?? ''} data-members={r.members} data-agreed={r.agreed} data-excluded={r.excluded}>
                  <td className="num">{formatInt(r.step)}</td>
                  <td className="num">{formatInt(r.members)}</td>
                  <td className="num">{formatInt(r.agreed)}</td>
                  <td className="num">{formatInt(r.excluded)}</td>
                  <td className="num" title={`median of ${r.reporters} report(s)`}>
                    {formatNum(r.loss ?? undefined, 4)}
                  </td>
                  <td className="num">
                    {seconds(r.trainMs)} · {seconds(r.witnessMs)}
                  </td>
                  <td className="num">{formatBytes(r.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

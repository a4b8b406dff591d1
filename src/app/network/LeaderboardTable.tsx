/** Points per client (with its wallet, when bound) and per bound wallet over all its clients. */
import type { Leaderboard } from '../../net/history';
import { formatInt } from '../format';

const short = (s: string) => `${s.slice(0, 10)}…`;

export function LeaderboardTable({ board }: { board: Leaderboard | null }) {
  const clients = board?.clients ?? [];
  const wallets = board?.wallets ?? [];
  return (
    <div className="card">
      <h2>Leaderboard</h2>
      {clients.length === 0 ? (
        <p className="muted small">No client has joined yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data" data-testid="network-leaderboard">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Client</th>
                <th>Wallet</th>
                <th className="num">Points</th>
                <th className="num">Held</th>
                <th className="num">Updates</th>
              </tr>
            </thead>
            <tbody>
              {clients.map((c, i) => (
                <tr key={c.id} data-testid="network-leaderboard-row" data-client={c.id} data-points={c.points} data-wallet={c.wallet ?? ''}>
                  <td className="num">{i + 1}</td>
                  <td title={c.id}>
                    <code>{short(c.id)}</code> <span className="muted small">{c.status}</span>
                  </td>
                  <td title={c.wallet ?? undefined}>{c.wallet === null ? <span className="muted">—</span> : <code>{short(c.wallet)}</code>}</td>
                  <td className="num">{formatInt(c.points)}</td>
                  <td className="num">{formatInt(c.held)}</td>
                  <td className="num">{formatInt(c.agreedUpdates)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {wallets.length > 0 && (
        <>
          <h3 className="small">By wallet</h3>
          <div className="table-wrap">
            <table className="data" data-testid="network-wallets">
              <thead>
                <tr>
                  <th>Wallet</th>
                  <th className="num">Clients</th>
                  <th className="num">Points</th>
                  <th className="num">Held</th>
                </tr>
              </thead>
              <tbody>
                {wallets.map((w) => (
                  <tr key={w.wallet} data-testid="network-wallet-row" data-wallet={w.wallet} data-points={w.points}>
                    <td title={w.wallet}>
                      <code>{short(w.wallet)}</code>
                    </td>
                    <td className="num">{formatInt(w.clients)}</td>
                    <td className="num">{formatInt(w.points)}</td>
                    <td className="num">{formatInt(w.held)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

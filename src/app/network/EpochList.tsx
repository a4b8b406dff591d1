/** The run's epochs, newest first, with their checkpoints: built (its checksum) or still waiting for the members' upload. */
import type { EpochHistory } from '../../net/history';
import { formatInt } from '../format';

export function EpochList({ epochs }: { epochs: readonly EpochHistory[] }) {
  return (
    <div className="card">
      <h2>Epochs and checkpoints</h2>
      {epochs.length === 0 ? (
        <p className="muted small">No epoch yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data" data-testid="network-epochs">
            <thead>
              <tr>
                <th className="num">Epoch</th>
                <th className="num">From step</th>
                <th>Checkpoint</th>
                <th>At</th>
              </tr>
            </thead>
            <tbody>
              {epochs.map((e) => (
                <tr key={e.epoch} data-testid="network-epoch" data-epoch={e.epoch} data-built={e.checksum !== null}>
                  <td className="num">{formatInt(e.epoch)}</td>
                  <td className="num">{formatInt(e.step)}</td>
                  <td>{e.checksum === null ? <span className="muted">waiting for the members' upload</span> : <code>{e.checksum}</code>}</td>
                  <td className="muted">{new Date(e.at).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Where the last step's GPU time went, per kernel (only with timestamp queries). */
import type { StepReport } from '../../train/protocol';
import { formatNum } from '../format';

const TOP = 15;

export function StepProfile({ report }: { report?: StepReport }) {
  const profile = report?.profile;
  if (!profile || profile.length === 0) return null;
  const total = profile.reduce((s, t) => s + t.ms, 0);
  const rows = [...profile].sort((a, b) => b.ms - a.ms).slice(0, TOP);
  return (
    <details className="card" data-testid="step-profile">
      <summary>GPU time per kernel, step {report.step}</summary>
      <p className="small muted">
        {formatNum(total, 3)} ms of GPU time in {profile.length} kernels{profile.length > TOP ? `; the ${TOP} slowest:` : '.'}
      </p>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th>Kernel</th>
              <th className="num">Dispatches</th>
              <th className="num">ms</th>
              <th className="num">Share</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.label}>
                <td className="mono small">{t.label}</td>
                <td className="num">{t.count}</td>
                <td className="num">{formatNum(t.ms, 3)}</td>
                <td className="num muted">{total > 0 ? `${((100 * t.ms) / total).toFixed(1)}%` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

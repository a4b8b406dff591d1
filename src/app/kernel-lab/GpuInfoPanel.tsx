/** Adapter, features and limits, loaded lazily: most visitors never open it. */
import { useEffect, useState } from 'react';
import { tessera, type GpuInfo } from '../../devtools/tessera';
import { errorMessage } from '../format';

export function GpuInfoPanel() {
  const [open, setOpen] = useState(false);
  const [info, setInfo] = useState<GpuInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open || info) return;
    let live = true;
    tessera.gpu.info().then(
      (i) => live && setInfo(i),
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [open, info]);

  return (
    <details className="card" data-testid="gpu-info" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>GPU adapter, features and limits</summary>
      {error && <div className="alert">{error}</div>}
      {!info && !error && <p className="muted">Loading…</p>}
      {info && <GpuInfoBody info={info} />}
    </details>
  );
}

function GpuInfoBody({ info }: { info: GpuInfo }) {
  const { vendor, architecture, device, description } = info.adapter;
  return (
    <>
      <dl className="kv">
        <dt>Vendor</dt>
        <dd>{vendor || '—'}</dd>
        <dt>Architecture</dt>
        <dd>{architecture || '—'}</dd>
        <dt>Device</dt>
        <dd>{device || '—'}</dd>
        <dt>Description</dt>
        <dd>{description || '—'}</dd>
      </dl>
      <h3 className="small muted">Features ({info.features.length})</h3>
      <ul className="chips" data-testid="gpu-features">
        {info.features.map((f) => (
          <li key={f}>{f}</li>
        ))}
      </ul>
      <details>
        <summary className="small muted">Limits ({Object.keys(info.limits).length})</summary>
        <div className="table-wrap">
          <table className="data">
            <tbody>
              {Object.entries(info.limits)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([name, value]) => (
                  <tr key={name}>
                    <td className="mono small">{name}</td>
                    <td className="num">{value.toLocaleString('en-US')}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}

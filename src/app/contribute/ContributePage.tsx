/**
 * Contribute: one click to join the shared run with this tab's GPU, and
 * everything a volunteer wants to see while it trains — the round states,
 * the loss, throughput, traffic, the peers, the points earned and the
 * tab's verification standing.
 */
import { useMemo } from 'react';
import { LossChart, type ChartSeries } from '../charts/LossChart';
import { DASH, formatBytes, formatCount, formatInt, formatNum } from '../format';
import { Stat } from '../train/TrainStats';
import type { RunView } from '../../run-client/run-client';
import { GPU_MEMORY_CHOICES, MemoryPanel } from './MemoryPanel';
import { ResumePanel } from './ResumePanel';
import { StandingPanel } from './StandingPanel';
import { useRun } from './useRun';

const STATUS_TEXT: Record<RunView['status'], string> = {
  idle: 'Not contributing',
  connecting: 'Connecting to the coordinator…',
  'catching-up': 'Catching up: loading the checkpoint and the latest updates…',
  joining: 'Joined; training starts at the next round',
  training: 'Training with the others',
  reconnecting: 'Connection lost; reconnecting…',
  left: 'Left the run',
  error: 'Error',
};

export function ContributePage() {
  const run = useRun();
  const v = run.view;
  const series = useMemo<ChartSeries[]>(() => [{ name: 'loss', points: (v?.lossHistory ?? []).map((p) => ({ x: p.step, y: p.loss })) }], [v?.lossHistory]);
  const status = run.pausedForHidden ? 'Paused while the tab is hidden' : STATUS_TEXT[v?.status ?? 'idle'];

  return (
    <section>
      <h2 className="page-title">Contribute</h2>
      <p className="page-lead">
        Join the shared training run: this tab trains on its share of each round's data, swaps tiny compressed updates with
        the other volunteers, and earns points for every update the run agrees on.
      </p>
      <div className="train-layout">
        <div className="card">
          <h2>Your tab</h2>
          <div className="form-actions">
            <button type="button" className="primary" disabled={!run.ready || run.joined} onClick={run.join} data-testid="run-join">
              Contribute
            </button>
            <button type="button" className="danger" disabled={!run.joined} onClick={run.leave} data-testid="run-leave">
              Leave
            </button>
          </div>
          <label className="field">
            <span>GPU usage: {Math.round(run.duty * 100)} %</span>
            <input type="range" min={0.05} max={1} step={0.05} value={run.duty} onChange={(e) => run.setDuty(Number(e.target.value))} data-testid="run-duty" />
          </label>
          <label className="field">
            <span>GPU memory this tab may use</span>
            <select value={run.gpuMemory} onChange={(e) => run.setGpuMemory(Number(e.target.value))} data-testid="run-gpu-memory">
              {[...new Set([...GPU_MEMORY_CHOICES, run.gpuMemory])].sort((a, b) => a - b).map((b) => (
                <option key={b} value={b}>
                  {formatBytes(b)}
                </option>
              ))}
            </select>
          </label>
          <label className="field checkbox">
            <input type="checkbox" checked={run.pauseWhenHidden} onChange={(e) => run.setPauseWhenHidden(e.target.checked)} data-testid="run-pause-hidden" />
            <span>Pause while this tab is hidden (resumes by itself)</span>
          </label>
          <p className="muted small">
            Client id <code data-testid="run-client-id">{v?.clientId ? `${v.clientId.slice(0, 16)}…` : DASH}</code>
          </p>
          <Peers view={v} />
        </div>
        <div>
          <p className="status-line" aria-live="polite">
            <span className="dot" data-phase={v?.status === 'training' ? 'running' : v?.status === 'error' ? 'error' : 'idle'} aria-hidden="true" />
            <span data-testid="run-status" data-status={v?.status ?? 'idle'}>
              {status}
            </span>
          </p>
          {v?.error && (
            <div className="alert" role="alert" data-testid="run-error">
              {v.error}
            </div>
          )}
          <div className="stats">
            <Stat label="Round state">
              <span data-testid="run-phase">{v?.state ?? DASH}</span>
            </Stat>
            <Stat label="Epoch · step">
              <span data-testid="run-step">{v ? `${v.epoch} · ${formatInt(v.step)}` : DASH}</span>
            </Stat>
            <Stat label="Points">
              <span data-testid="run-points">{formatInt(v?.points)}</span>
            </Stat>
            <Stat label="Loss">
              <span data-testid="run-loss">{formatNum(v?.lossHistory.at(-1)?.loss, 4)}</span>
            </Stat>
            <Stat label="Tokens / s">
              <span data-testid="run-tps">{v?.tokensPerSec ? formatInt(v.tokensPerSec) : DASH}</span>
            </Stat>
            <Stat label="GPU busy">
              <span data-testid="run-utilization" title="The share of the last 30 s this tab's GPU spent training, verifying and applying rounds (after its first rounds)">
                {v?.utilization.share == null ? DASH : `${(100 * v.utilization.share).toFixed(0)} %`}
              </span>
            </Stat>
            <Stat label="Sent · received">
              <span data-testid="run-bytes">{v ? `${formatBytes(v.bytesSent)} · ${formatBytes(v.bytesReceived)}` : DASH}</span>
            </Stat>
            <Stat label="Members">
              <span data-testid="run-members">{formatCount(v?.members)}</span>
            </Stat>
            <Stat label="Checksum">
              <code data-testid="run-checksum">{v?.checksum ?? DASH}</code>
            </Stat>
          </div>
          <StandingPanel view={v} probationRounds={v?.standing?.probationRounds} />
          <MemoryPanel plan={v?.memory ?? null} />
          <ResumePanel resume={v?.resume ?? null} />
          <div className="card">
            <h2>Loss on this tab's batches</h2>
            <LossChart series={series} integerX data-testid="run-loss-chart" emptyText="The loss appears here after this tab's first round." />
          </div>
          <Timeline view={v} />
        </div>
      </div>
    </section>
  );
}

function Peers({ view }: { view: RunView | null }) {
  const peers = view?.peers ?? [];
  return (
    <>
      <h3 className="small">Peers ({peers.length})</h3>
      {peers.length === 0 ? (
        <p className="muted small">No peer connections yet.</p>
      ) : (
        <ul className="peer-list" data-testid="run-peers">
          {peers.map((p) => (
            <li key={p.id} data-state={p.state}>
              <code>{p.id.slice(0, 12)}…</code> <span className="muted">{p.state}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Timeline({ view }: { view: RunView | null }) {
  const items = (view?.timeline ?? []).slice(-12).reverse();
  return (
    <div className="card">
      <h2>Round states</h2>
      {items.length === 0 ? (
        <p className="muted small">The run's phases appear here as they change.</p>
      ) : (
        <ol className="timeline" data-testid="run-timeline">
          {items.map((t) => (
            <li key={`${t.at}-${t.phase}-${t.step}`}>
              <span className="muted small">{new Date(t.at).toLocaleTimeString()}</span> step {t.step}: <strong>{t.phase}</strong>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

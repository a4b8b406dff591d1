/**
 * Where this tab's parameters came from last — its own saved state after a
 * reload (no model download) or the run’s checkpoint — and what keeping that
 * state in the browser costs (src/train/save-cadence.ts bounds it).
 */
import { DASH, formatInt } from '../format';
import { Stat } from '../train/TrainStats';
import type { RunView } from '../../run-client/run-client';

export function loadedFromText(r: RunView['resume']): string {
  if (r.from === 'record') return `this browser’s saved state, step ${formatInt(r.step)} (${formatInt(r.ms)} ms)`;
  if (r.from === 'checkpoint') return `the run’s checkpoint, step ${formatInt(r.step)} (${formatInt(r.ms)} ms)`;
  return DASH;
}

export function lastSaveText(r: RunView['resume']): string {
  const s = r.saved;
  if (s === null || s.saves === 0) return DASH;
  return `step ${formatInt(s.savedStep)}: read ${s.readMs.toFixed(1)} ms + write ${s.putMs.toFixed(1)} ms`;
}

export function ResumePanel({ resume }: { resume: RunView['resume'] | null }) {
  const r = resume ?? { from: null, step: 0, momentumStep: -1, ms: 0, saved: null };
  return (
    <div className="card" data-testid="run-resume" aria-labelledby="run-resume-title">
      <h2 id="run-resume-title">Saved in this browser</h2>
      <div className="stats">
        <Stat label="Loaded from">
          <span data-testid="run-loaded-from">{loadedFromText(r)}</span>
        </Stat>
        <Stat label="Last save">
          <span data-testid="run-last-save">{lastSaveText(r)}</span>
        </Stat>
        <Stat label="Saves · skipped">
          <span>{r.saved ? `${formatInt(r.saved.saves)} · ${formatInt(r.saved.skipped)}` : DASH}</span>
        </Stat>
      </div>
    </div>
  );
}

/**
 * This tab's verification standing (docs/verification.md), as the
 * coordinator's state shows it: probation, strikes, points held until they
 * vest, vested and forfeited, whether the tab verifies someone's update this
 * round and how much verifying it has done. An ejected key gets a red notice.
 */
import { DASH, formatInt } from '../format';
import { Stat } from '../train/TrainStats';
import type { RunView } from '../../run-client/run-client';

/** The run refused this key for failed checks: its standing says so, or the coordinator's error does. */
export function isEjected(view: RunView | null): boolean {
  return Boolean(view?.standing?.ejected) || /\bejected\b/i.test(view?.error ?? '');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function rounds(n: number): string {
  return `${formatInt(n)} checked round${n === 1 ? '' : 's'}`;
}

/** "On probation: 1 of 3 checked rounds passed", or without the total when the page has no run config. */
export function probationText(verifiedRounds: number, probationRounds?: number): string {
  return probationRounds === undefined
    ? `On probation: ${rounds(verifiedRounds)} passed so far`
    : `On probation: ${formatInt(verifiedRounds)} of ${rounds(probationRounds)} passed`;
}

export function StandingPanel({ view, probationRounds }: { view: RunView | null; probationRounds?: number }) {
  const s = view?.standing ?? null;
  const verified = view?.verified;
  const ejected = isEjected(view);
  return (
    <div className="card standing" data-testid="run-standing" aria-labelledby="run-standing-title">
      <h2 id="run-standing-title">Standing</h2>
      {ejected && (
        <div className="alert standing-ejected" role="alert" data-testid="run-ejected">
          <strong>Ejected from the run.</strong> The run refused this tab's key because its updates failed verification
          checks; it earns no more points in this run.
        </div>
      )}
      {s === null ? (
        <p className="muted small">This tab's standing appears here once the coordinator counts it in the run.</p>
      ) : (
        <>
          <p className="small standing-status" aria-live="polite" data-testid="run-standing-status">
            <span data-testid="run-probation" data-probation={s.probation}>
              {s.probation ? probationText(s.verifiedRounds, probationRounds) : 'Past probation'}
            </span>
            {' · '}
            <span data-testid="run-verifier" data-verifier={s.verifier}>
              {s.verifier ? 'Verifying an update this round' : 'Not verifying this round'}
            </span>
            {s.waiting && (
              <span data-testid="run-waiting">
                {' · '}Waiting for a newcomer's place: new keys enter a few at a time, so that checking them stays a small share of
                everyone's training
              </span>
            )}
          </p>
          <div className="stats">
            <Stat label="Verified rounds">
              <span data-testid="run-verified-rounds">{formatInt(s.verifiedRounds)}</span>
              {probationRounds !== undefined && s.probation && <span className="unit"> / {formatInt(probationRounds)}</span>}
            </Stat>
            <Stat label="Strikes">
              <span data-testid="run-strikes" className={s.strikes > 0 ? 'standing-bad' : undefined}>
                {formatInt(s.strikes)}
              </span>
            </Stat>
            <Stat label="Held (not vested)">
              <span data-testid="run-held" title="Earned, not vested yet">
                {formatInt(s.held)}
              </span>
            </Stat>
            <Stat label="Vested">
              <span data-testid="run-vested">{formatInt(s.vested)}</span>
            </Stat>
            <Stat label="Forfeited">
              <span data-testid="run-forfeited" className={s.forfeited > 0 ? 'standing-bad' : undefined}>
                {formatInt(s.forfeited)}
              </span>
            </Stat>
          </div>
        </>
      )}
      <p className="muted small" data-testid="run-verified">
        Updates verified by this tab: {verified ? `${formatInt(verified.checks)} in ${formatDuration(verified.ms)}` : DASH}
      </p>
    </div>
  );
}

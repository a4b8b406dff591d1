import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { RunView } from '../../run-client/run-client';
import type { Standing } from '../../run-client/verifier-duty';
import { StandingPanel, formatDuration, isEjected, probationText } from './StandingPanel';

const standing: Standing = { verifiedRounds: 1, probation: true, probationRounds: 3, verifier: true, waiting: false, strikes: 1, held: 12, vested: 340, forfeited: 5, ejected: false };

function view(over: Partial<RunView> = {}): RunView {
  return {
    status: 'training',
    state: 'RoundTrain',
    epoch: 0,
    step: 7,
    clientId: 'ab'.repeat(32),
    checksum: null,
    appliedStep: 6,
    peers: [],
    points: 340,
    lossHistory: [],
    applied: [],
    timeline: [],
    tokensPerSec: 0,
    trainMs: 0,
    utilization: { busyMs: 0, wallMs: 0, share: null },
    bytesSent: 0,
    bytesReceived: 0,
    payloadsFrom: { peer: 0, forwarded: 0, store: 0 },
    members: 3,
    standing,
    verified: { checks: 4, ms: 2500, recomputeMs: 2000, maxRoundMs: 900 },
    memory: null,
    resume: { from: null, step: 0, momentumStep: -1, ms: 0, saved: null },
    error: null,
    ...over,
  };
}

const html = (v: RunView | null, probationRounds?: number) => renderToStaticMarkup(createElement(StandingPanel, { view: v, probationRounds }));
const testId = (markup: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(markup)?.[1];

describe('StandingPanel', () => {
  it('shows the standing of a RunView', () => {
    const m = html(view());
    expect(m).toContain('Standing');
    expect(testId(m, 'run-verified-rounds')).toBe('1');
    expect(testId(m, 'run-strikes')).toBe('1');
    expect(testId(m, 'run-held')).toBe('12');
    expect(testId(m, 'run-vested')).toBe('340');
    expect(testId(m, 'run-forfeited')).toBe('5');
    expect(testId(m, 'run-probation')).toBe('On probation: 1 checked round passed so far');
    expect(testId(m, 'run-verifier')).toBe('Verifying an update this round');
    expect(testId(m, 'run-verified')).toBe('Updates verified by this tab: 4 in 2.5 s');
    expect(m).toContain('aria-live="polite"');
    expect(m).not.toContain('run-ejected');
  });

  it('names the probation length when it is known, and says when probation is over', () => {
    expect(testId(html(view(), 3), 'run-probation')).toBe('On probation: 1 of 3 checked rounds passed');
    const past = html(view({ standing: { ...standing, probation: false, verifiedRounds: 3, verifier: false } }), 3);
    expect(testId(past, 'run-probation')).toBe('Past probation');
    expect(testId(past, 'run-verifier')).toBe('Not verifying this round');
  });

  it('says when a joiner waits for a newcomer’s place', () => {
    expect(html(view())).not.toContain('run-waiting');
    expect(html(view({ standing: { ...standing, waiting: true, verifier: false } }))).toMatch(/data-testid="run-waiting">[^<]*Waiting for a newcomer/);
  });

  it('warns when the key was ejected, by its standing or by the error', () => {
    expect(html(view({ standing: { ...standing, ejected: true } }))).toMatch(/role="alert" data-testid="run-ejected"/);
    const byError = view({ standing: null, status: 'error', error: 'ejected from the run: 2 strikes' });
    expect(isEjected(byError)).toBe(true);
    expect(html(byError)).toContain('data-testid="run-ejected"');
    expect(isEjected(view({ error: 'update rejected' }))).toBe(false);
  });

  it('waits for a standing without failing on an empty view', () => {
    expect(html(null)).toContain('appears here once the coordinator counts it');
    expect(testId(html(null), 'run-verified')).toBe('Updates verified by this tab: —');
  });

  it('formats the verifying time', () => {
    expect(formatDuration(350)).toBe('350 ms');
    expect(formatDuration(61_000)).toBe('1 min 1 s');
    expect(probationText(0)).toBe('On probation: 0 checked rounds passed so far');
  });
});

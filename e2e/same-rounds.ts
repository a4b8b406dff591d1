/**
 * The check every mixed run makes: for each step, every client applied the
 * same agreed set and reached the same checksum (tabs report it through
 * `tessera.run.state()`, headless clients through their JSON lines).
 */
import { expect } from '@playwright/test';
import type { RunView } from '../src/run-client/run-client';

type Applied = Pick<RunView, 'applied' | 'appliedStep'>;

/** What a tab and a headless client both report, for the waits and checks of a mixed run. */
export type ClientView = Pick<RunView, 'status' | 'error' | 'appliedStep' | 'applied' | 'clientId'>;

/** For every step in [from, to) every view applied the same agreed hashes and checksum. */
export function expectSameRounds(views: Applied[], from: number, to: number): void {
  expect(to - from).toBeGreaterThan(0);
  for (let step = from; step < to; step++) {
    const rounds = views.map((v) => v.applied.find((a) => a.step === step));
    // The listed range tells a gap (a lost round) from a list that starts late (parameters loaded from a checkpoint or a resume record).
    rounds.forEach((r, i) => expect(r, `client ${i} applied step ${step} (it lists ${listed(views[i])})`).toBeDefined());
    for (const r of rounds) {
      expect(r!.checksum, `step ${step} checksum`).toBe(rounds[0]!.checksum);
      expect(r!.hashes, `step ${step} agreed set`).toEqual(rounds[0]!.hashes);
    }
  }
}

function listed(v: Applied): string {
  const steps = v.applied.map((a) => a.step);
  return steps.length === 0 ? `no rounds, appliedStep ${v.appliedStep}` : `${steps.length} rounds, steps ${steps[0]}…${steps[steps.length - 1]}, appliedStep ${v.appliedStep}`;
}

/** The steps every view still lists (views keep a bounded history). */
export function sharedSteps(views: Applied[]): [number, number] {
  const from = Math.max(...views.map((v) => Math.min(...v.applied.map((a) => a.step))));
  return [from, Math.min(...views.map((v) => v.appliedStep))];
}

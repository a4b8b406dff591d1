/**
 * The run end to end (issue 4): the real coordinator process, separate
 * Chromium processes that click Contribute, WebRTC between them, DeMo
 * updates through the real codec, bit-identical replicas every round.
 */
import { expect, test } from '@playwright/test';
import type { RunView } from '../src/run-client/run-client';
import { buildApp, freshDir, openTab, startCoordinator, status, testConfig, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';

/** For every step all views applied, the same agreed hashes and the same checksum. */
function expectSameRounds(views: RunView[], fromStep: number, toStep: number): void {
  for (let step = fromStep; step < toStep; step++) {
    const rounds = views.map((v) => v.applied.find((a) => a.step === step));
    rounds.forEach((r, i) => expect(r, `tab ${i} applied step ${step}`).toBeDefined());
    const first = rounds[0]!;
    for (const r of rounds) {
      expect(r!.checksum, `step ${step} checksum`).toBe(first.checksum);
      expect(r!.hashes, `step ${step} agreed set`).toEqual(first.hashes);
    }
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
const tabs: Tab[] = [];

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterEach(async () => {
  await Promise.all(tabs.splice(0).map((t) => t.close().catch(() => {})));
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

test('three browsers train together for 10 rounds: the loss falls and every round all replicas are bit-identical', async () => {
  test.setTimeout(600_000);
  coordinator = await startCoordinator(freshDir('run-three'), testConfig());
  tabs.push(...(await Promise.all(['a', 'b', 'c'].map((n) => openTab(coordinator!.url, n)))));
  const views = await waitForStep(tabs, 10, 480_000);

  expectSameRounds(views, 0, 10);
  // Every round of the three had all three updates agreed (nobody was slow enough to miss one here).
  for (const a of views[0].applied.filter((r) => r.step < 10)) expect(a.hashes.length).toBe(3);
  for (const v of views) {
    expect(v.lossHistory.length).toBeGreaterThanOrEqual(10);
    const losses = v.lossHistory.map((l) => l.loss);
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
    expect(v.peers.filter((p) => p.state === 'connected').length).toBe(2);
  }
  const s = await status(coordinator.url);
  expect(s.clients).toHaveLength(3);
  for (const c of s.clients) expect(c.points).toBeGreaterThanOrEqual(10 * 10);
  await expect(tabs[0].page.getByTestId('run-status')).toHaveAttribute('data-status', 'training');
});

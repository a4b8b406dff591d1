/**
 * Engines in one run: two Chromium tabs (Dawn on SwiftShader) and a Firefox
 * tab (wgpu/naga on lavapipe, driven by puppeteer-core) train together
 * against the real coordinator, and every round every one of them holds the
 * same agreed set and the same checksum.
 */
import { expect, test } from '@playwright/test';
import type { RunView } from '../src/run-client/run-client';
import { openFirefoxTab, type FirefoxTab } from './firefox/firefox-tab';
import { buildApp, freshDir, openTab, startCoordinator, status, testConfig, waitForStatus, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';

/** For every step in [from, to) every view applied the same agreed hashes and checksum. */
function expectSameRounds(views: RunView[], from: number, to: number): void {
  expect(to - from).toBeGreaterThan(0);
  for (let step = from; step < to; step++) {
    const rounds = views.map((v) => v.applied.find((a) => a.step === step));
    rounds.forEach((r, i) => expect(r, `client ${i} applied step ${step}`).toBeDefined());
    for (const r of rounds) {
      expect(r!.checksum, `step ${step} checksum`).toBe(rounds[0]!.checksum);
      expect(r!.hashes, `step ${step} agreed set`).toEqual(rounds[0]!.hashes);
    }
  }
}

/** The steps every view still lists (views keep a bounded history). */
function sharedSteps(views: RunView[]): [number, number] {
  const from = Math.max(...views.map((v) => Math.min(...v.applied.map((a) => a.step))));
  return [from, Math.min(...views.map((v) => v.appliedStep))];
}

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
const chromiumTabs: Tab[] = [];
let firefox: FirefoxTab | null = null;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterEach(async () => {
  await Promise.all(chromiumTabs.splice(0).map((t) => t.close().catch(() => {})));
  await firefox?.close().catch(() => {});
  firefox = null;
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

test('two Chromium tabs and a Firefox tab train one run bit-identically for 10 rounds; the Firefox tab closed mid-round is dropped like any other', async () => {
  test.setTimeout(900_000);
  const dir = freshDir('engines');
  coordinator = await startCoordinator(dir, testConfig({ initMinClients: 3, globalBatch: { start: 8, end: 8, warmupTokens: 0 } }));
  const url = coordinator.url;
  const [a, b, ff] = await Promise.all([openTab(url, 'chromium-a'), openTab(url, 'chromium-b'), openFirefoxTab(url, 'firefox')]);
  chromiumTabs.push(a, b);
  firefox = ff;

  // Ten rounds, one checksum.
  let views = await waitForStep([a, b, ff], 10, 600_000);
  expectSameRounds(views, ...sharedSteps(views));
  const ids = views.map((v) => v.clientId);
  expect(new Set(ids).size).toBe(3);
  const s = await status(url);
  for (const id of ids) expect(s.clients.find((c) => c.id === id)?.points, `points of ${id}`).toBeGreaterThan(0);

  // A Firefox tab closed while a round trains: the others go on without it.
  const mid = await waitForStatus(url, (st) => st.state === 'RoundTrain', 60_000);
  const firefoxId = views[2].clientId!;
  await ff.close();
  firefox = null;
  views = await waitForStep([a, b], mid.step + 4, 300_000);
  expectSameRounds(views, ...sharedSteps(views));
  const later = views[0].applied.filter((r) => r.step >= mid.step + 2);
  expect(later.length).toBeGreaterThan(0);
  for (const r of later) expect(r.hashes.length).toBe(2);
  expect((await status(url)).clients.find((c) => c.id === firefoxId)!.state).toBe('gone');
});

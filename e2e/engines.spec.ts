/**
 * Engines in one run: two Chromium tabs (Dawn on SwiftShader), a Firefox tab
 * (wgpu/naga on lavapipe, driven by puppeteer-core) and the headless client
 * (Dawn in Node, WebRTC through node-datachannel) train together against the
 * real coordinator, and every round every one of them holds the same agreed
 * set and the same checksum.
 */
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { openFirefoxTab, type FirefoxTab } from './firefox/firefox-tab';
import { startNodeClient, type NodeClient } from './node-client-process';
import { expectSameRounds, sharedSteps, type ClientView } from './same-rounds';
import { buildApp, freshDir, openTab, startCoordinator, status, testConfig, waitForStatus, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
const chromiumTabs: Tab[] = [];
let firefox: FirefoxTab | null = null;
let headless: NodeClient | null = null;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterEach(async () => {
  await Promise.all(chromiumTabs.splice(0).map((t) => t.close().catch(() => {})));
  await firefox?.close().catch(() => {});
  firefox = null;
  await headless?.kill();
  headless = null;
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

test('two Chromium tabs, a Firefox tab and a headless client train one run bit-identically; the headless client killed and restarted rejoins as itself; a Firefox tab closed mid-round is dropped', async () => {
  test.setTimeout(900_000);
  const dir = freshDir('engines');
  coordinator = await startCoordinator(dir, testConfig({ initMinClients: 4, globalBatch: { start: 8, end: 8, warmupTokens: 0 } }));
  const url = coordinator.url;
  const nodeDir = join(dir, 'node-client');
  const [a, b, ff, node] = await Promise.all([
    openTab(url, 'chromium-a'),
    openTab(url, 'chromium-b'),
    openFirefoxTab(url, 'firefox'),
    startNodeClient({ coordinator: url, stateDir: nodeDir, name: 'node' }),
  ]);
  chromiumTabs.push(a, b);
  firefox = ff;
  headless = node;

  // Ten rounds, one checksum, on three engines.
  const views = await waitForStep<ClientView>([a, b, ff, node], 10, 600_000);
  expectSameRounds(views, ...sharedSteps(views));
  const ids = views.map((v) => v.clientId!);
  expect(new Set(ids).size).toBe(4);
  let s = await status(url);
  for (const id of ids) expect(s.clients.find((c) => c.id === id)?.points, `points of ${id}`).toBeGreaterThan(0);

  // The headless client's WebRTC (node-datachannel) talks to Chromium's and Firefox's.
  await node.waitFor((v) => v.peers.connected === 3, 60_000);

  // The headless client killed (a crash) and restarted on its state folder: the same client, its points growing.
  const nodeId = ids[3];
  const pointsBefore = s.clients.find((c) => c.id === nodeId)!.points;
  await node.kill();
  headless = await startNodeClient({ coordinator: url, stateDir: nodeDir, name: 'node-restarted' });
  const back = await headless.waitFor((v) => v.status === 'training' && v.appliedStep >= views[0].appliedStep + 2, 300_000);
  expect(back.clientId).toBe(nodeId);
  await waitForStatus(url, (st) => st.clients.find((c) => c.id === nodeId)!.points > pointsBefore, 120_000);
  const after = await waitForStep<ClientView>([a, b, ff, headless], back.appliedStep + 2, 300_000);
  // Up to the step every client has applied: the views are read one after another, and a round may land between.
  expectSameRounds(after, back.appliedStep, Math.min(...after.map((v) => v.appliedStep)));

  // A Firefox tab closed while a round trains: the others go on without it.
  const mid = await waitForStatus(url, (st) => st.state === 'RoundTrain', 60_000);
  const firefoxId = ids[2];
  await ff.close();
  firefox = null;
  // Its socket closes with the browser, and the coordinator counts that as leaving; the round then in flight may still
  // agree its update (committed before the close), no round after it can, and its points stop there.
  const gone = await waitForStatus(url, (st) => st.clients.find((c) => c.id === firefoxId)!.state === 'gone', 60_000);
  const settled = await waitForStatus(url, (st) => st.step > gone.step, 120_000);
  const firefoxPoints = settled.clients.find((c) => c.id === firefoxId)!.points;
  const survivorIds = [ids[0], ids[1], nodeId];
  const pointsAtLeave = survivorIds.map((id) => settled.clients.find((c) => c.id === id)!.points);
  const survivors = await waitForStep<ClientView>([a, b, headless], Math.max(mid.step, gone.step) + 4, 300_000);
  expectSameRounds(survivors, mid.step + 1, Math.min(...survivors.map((v) => v.appliedStep)));
  // Three members are left, so an agreed set after the leave holds at most their three updates (a fourth could only be
  // Firefox's). Fewer is a correct run too: a survivor whose commit misses the train time or whose check splits sits out.
  const later = survivors[0].applied.filter((r) => r.step > gone.step);
  expect(later.length).toBeGreaterThan(0);
  for (const r of later) {
    expect(r.hashes.length, `step ${r.step} agreed set`).toBeGreaterThan(0);
    expect(r.hashes.length, `step ${r.step} agreed set`).toBeLessThanOrEqual(3);
  }
  // Every survivor still has its updates agreed, and Firefox, gone, earns nothing more.
  s = await waitForStatus(url, (st) => survivorIds.every((id, i) => st.clients.find((c) => c.id === id)!.points > pointsAtLeave[i]), 120_000);
  expect(s.clients.find((c) => c.id === firefoxId)!.points, 'points of the closed Firefox tab').toBe(firefoxPoints);
  expect(s.clients.find((c) => c.id === firefoxId)!.state).toBe('gone');
  expect(s.clients.find((c) => c.id === nodeId)!.state).toBe('member');
});

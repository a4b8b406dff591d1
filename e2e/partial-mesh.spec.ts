/**
 * The partial mesh (docs/design.md §11): five browsers, each linked to at
 * most two of the others (meshDegree 2, a ring), train rounds in which every
 * tab still holds and applies every agreed payload: those of the members it
 * has no link to came by forwarding (or, late, from the payload store).
 */
import { expect, test } from '@playwright/test';
import { meshLinks } from '../src/net/mesh-links';
import { expectSameRounds } from './same-rounds';
import { buildApp, freshDir, openTab, startCoordinator, testConfig, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';

const ROUNDS = 4;

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

test('five browsers with two links each train rounds: every tab applies every agreed payload, and the checksums agree', async () => {
  test.setTimeout(600_000);
  const started = Date.now();
  // The smallest model and one sequence a member: five SwiftShader tabs share the machine's cores.
  const config = testConfig({ meshDegree: 2, initMinClients: 5, globalBatch: { start: 5, end: 5, warmupTokens: 0 }, maxRoundTrainTime: 120_000, roundWitnessTime: 30_000 });
  coordinator = await startCoordinator(freshDir('partial-mesh'), config);
  tabs.push(...(await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => openTab(coordinator!.url, n)))));
  const views = await waitForStep(tabs, ROUNDS, 480_000);
  console.log(`partial mesh: ${ROUNDS} rounds after ${Math.round((Date.now() - started) / 1000)} s`);

  expectSameRounds(views, 0, ROUNDS);
  // Every round agreed all five updates, so each tab applied payloads of the three members it has no link to.
  for (const a of views[0].applied.filter((r) => r.step < ROUNDS)) expect(a.hashes.length, `agreed set of step ${a.step}`).toBe(5);

  const ids = views.map((v) => v.clientId!);
  // The coordinator gave the run a fresh id (the config names none): the links are seeded by it.
  const { runId } = JSON.parse(coordinator.logs.find((l) => l.includes('"listening"'))!) as { runId: string };
  let notDirect = 0;
  for (const v of views) {
    const connected = v.peers.filter((p) => p.state === 'connected').map((p) => p.id);
    console.log(`${v.clientId!.slice(0, 8)}: peers ${connected.map((id) => id.slice(0, 8)).join(', ')}; payloads ${JSON.stringify(v.payloadsFrom)}`);
    expect(connected.length).toBeLessThanOrEqual(2);
    // The connections are the links both ends computed alike, never another member.
    const links = meshLinks(v.clientId!, ids, 2, runId);
    for (const id of connected) expect(links.has(id), `${id.slice(0, 8)} is a link of ${v.clientId!.slice(0, 8)}`).toBe(true);
    // Two of the four other members are not links: their payloads came another way, every round.
    expect(v.payloadsFrom.forwarded + v.payloadsFrom.store).toBeGreaterThanOrEqual(2 * ROUNDS);
    notDirect += v.payloadsFrom.forwarded + v.payloadsFrom.store;
  }
  expect(notDirect).toBeGreaterThan(0);
  // The ring carried most of them: the store is the fallback, not the path.
  expect(views.reduce((n, v) => n + v.payloadsFrom.forwarded, 0)).toBeGreaterThan(views.reduce((n, v) => n + v.payloadsFrom.store, 0));
});

/**
 * Pipelined rounds (docs/design.md §11) in real tabs: each round trains from
 * the parameters one round stale while the round before is witnessed, so a
 * tab's GPU does not wait out the witness stage, and each tab trains for the
 * round's time box, so it does not wait for the slowest either. Three tabs
 * train 20 rounds bit-identically and report their GPU's share of the wall
 * time; a late
 * joiner, a reload, a coordinator restart and a verification exclusion all
 * still work with pipelining on.
 */
import { expect, test } from '@playwright/test';
import { startRogues, buildRoguePage, type Rogues } from './rogue/driver';
import { buildApp, freshDir, openTab, startCoordinator, status, testConfig, waitForStatus, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';
import { expectSameRounds } from './same-rounds';
import type { RunView } from '../src/run-client/run-client';
import type { RunConfigInput } from '../src/run/run-config';
import { FIRST_BOX_RANGE } from '../src/run/pace-shares';

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
let rogues: Rogues | null = null;
const tabs: Tab[] = [];

test.beforeAll(async () => {
  test.setTimeout(240_000);
  await buildApp();
  await buildRoguePage();
});

test.afterEach(async () => {
  await rogues?.close().catch(() => {});
  rogues = null;
  await Promise.all(tabs.splice(0).map((t) => t.close().catch(() => {})));
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

/**
 * Time-boxed rounds: each tab trains for 4 s of each round (45–80 sequences a tab here), from a range sized by its
 * pace and held to twice what it reaches in a box, out of a batch of 2400 no CPU reaches, so a round lasts the
 * box whatever each tab's speed does during it (docs/design.md §11).
 */
const BOX_MS = 4000;
// Far more than three CPU tabs reach in a box: a batch of 400 split three ways was filled by ranges held to twice a
// tab's reach once a tab reached 67 (up to 80 here), so the batch, not the paces, bounded what was assigned.
const BATCH = 2400;
const PIPELINED: Partial<RunConfigInput> = { pipelined: true, shareByPace: true, trainTimeBox: BOX_MS, globalBatch: { start: BATCH, end: BATCH, warmupTokens: 0 } };

function steps(views: RunView[], from: number): [number, number] {
  return [from, Math.min(...views.map((v) => v.appliedStep))];
}

test('three tabs with pipelined rounds train 20 rounds bit-identically, each round while the one before is witnessed, and report their GPU busy share; a late joiner, a reload and a coordinator restart carry on', async () => {
  test.setTimeout(900_000);
  const dir = freshDir('pipelined');
  coordinator = await startCoordinator(dir, testConfig(PIPELINED));
  tabs.push(...(await Promise.all(['a', 'b', 'c'].map((n) => openTab(coordinator!.url, n)))));
  const views = await waitForStep(tabs, 20, 600_000);
  expectSameRounds(views, 0, 20);
  for (const a of views[0].applied.filter((r) => r.step < 20)) expect(a.hashes.length, `agreed set of step ${a.step}`).toBe(3);
  const s = await status(coordinator.url);
  // Points follow the sequences trained (a few dozen a round among the three here, of a batch they never reach).
  for (const c of s.clients) expect(c.points).toBeGreaterThan(0);
  // Each round trained while the one before it was witnessed: round r+1 started before round r's agreed set.
  const logged = coordinator.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { time: string; event: string; step: number; counts?: number[] });
  const at = (event: string, step: number) => Date.parse(logged.find((e) => e.event === event && e.step === step)!.time);
  for (let r = 1; r < 19; r++) expect(at('round-started', r + 1), `round ${r + 1} started before round ${r} was agreed`).toBeLessThanOrEqual(at('agreed', r));
  // The box ended the trainings: once the first rounds' kernel compiles are past and the ranges have grown to the
  // paces, rounds lasted the box (a tab stops within about half a sequence of it); a round all of whose members ran
  // out of range first, after a slow one shrank their paces, may end before it. The ranges were held to two boxes'
  // worth of each tab's pace, well under the batch.
  console.log(`[pipelined] round ms: ${Array.from({ length: 19 }, (_, r) => at('round-started', r + 1) - at('round-started', r)).join(' ')}`);
  console.log(`[pipelined] ranges: ${logged.filter((l) => l.event === 'round-started' && l.step < 20).map((e) => e.counts!.join(',')).join(' ')}`);
  const lasted = Array.from({ length: 15 }, (_, i) => at('round-started', i + 5) - at('round-started', i + 4)).sort((a, b) => a - b);
  expect(lasted[7], 'the median round of 4-18 lasted the box').toBeGreaterThanOrEqual(BOX_MS - 300);
  expect(lasted.filter((ms) => ms >= BOX_MS - 300).length, 'rounds of 4-18 that lasted the box').toBeGreaterThanOrEqual(12);
  const assigned = logged.filter((l) => l.event === 'round-started' && l.step < 20).map((e) => e.counts!.reduce((a, b) => a + b, 0));
  // Nobody's pace is known in round 0: each range is the first box's (FIRST_BOX_RANGE), not a third of the batch.
  expect(assigned[0]).toBe(3 * FIRST_BOX_RANGE);
  for (const n of assigned.slice(3)) expect(n).toBeLessThan(BATCH);
  // The GPU's share of the wall time, as the tab reports it. Its level is a benchmark figure (docs/scale.md), not a
  // pass/fail line: three SwiftShader tabs share two CPU cores here.
  for (const [i, v] of views.entries()) {
    console.log(`[pipelined] tab ${i}: GPU busy ${JSON.stringify(v.utilization)}, trained ${v.lossHistory.length} rounds, ${v.trainMs.toFixed(0)} ms training`);
    expect(v.utilization.share, `tab ${i} utilization`).not.toBeNull();
    expect(v.utilization.share!).toBeGreaterThan(0);
    expect(v.utilization.share!).toBeLessThanOrEqual(1);
    expect(v.utilization.wallMs).toBeGreaterThan(0);
  }
  await expect(tabs[0].page.getByTestId('run-utilization')).toHaveText(/^\d+ %$/);

  // A late joiner catches up while rounds keep overlapping and trains with the same bits.
  const late = await openTab(coordinator.url, 'd');
  tabs.push(late);
  await expect.poll(async () => (await late.state()).lossHistory.length, { timeout: 300_000, intervals: [1000] }).toBeGreaterThanOrEqual(2);
  const firstTrained = (await late.state()).lossHistory[0].step;
  let now = await waitForStep(tabs, firstTrained + 2, 300_000);
  expectSameRounds(now, ...steps(now, now[3].applied[0].step));
  // Its first two rounds were agreed with its update beside the others'.
  const withLate = now[0].applied.filter((a) => a.step >= firstTrained && a.step < firstTrained + 2);
  expect(withLate.map((a) => a.hashes.length)).toEqual([4, 4]);

  // A reload resumes from the tab's record, as itself.
  const before = await tabs[0].state();
  await tabs[0].page.reload();
  await expect.poll(async () => (await tabs[0].state()).clientId, { timeout: 120_000 }).toBe(before.clientId);
  await expect.poll(async () => (await tabs[0].state()).lossHistory.length, { timeout: 300_000, intervals: [1000] }).toBeGreaterThan(0);
  now = await waitForStep(tabs, before.appliedStep + 3, 300_000);
  expectSameRounds(now, ...steps(now, before.appliedStep + 1));

  // The coordinator killed and restarted with two rounds in flight: it resumes both, the tabs reconnect, no round is lost.
  await waitForStatus(coordinator.url, (st) => st.state === 'RoundTrain', 60_000);
  const { port } = coordinator;
  const atKill = await status(coordinator.url);
  await coordinator.kill();
  coordinator = await startCoordinator(dir, null, port);
  expect((await status(coordinator.url)).step).toBeGreaterThanOrEqual(atKill.step);
  now = await waitForStep(tabs, atKill.step + 3, 300_000);
  expectSameRounds(now, ...steps(now, Math.max(...now.map((v) => v.applied[0].step))));
  for (const v of now) {
    const listed = v.applied.map((a) => a.step);
    const from = listed[0];
    expect(listed, 'no round skipped').toEqual(Array.from({ length: listed.length }, (_, i) => from + i));
  }
});

test('with pipelined rounds a rogue is excluded and ejected, and the honest tabs stay in lockstep without one exclusion', async () => {
  test.setTimeout(600_000);
  const runId = '7e55e7a0000000000000000000000002';
  coordinator = await startCoordinator(freshDir('pipelined-rogue'), testConfig({ ...PIPELINED, runId, globalBatch: { start: 8, end: 8, warmupTokens: 0 } }));
  const url = coordinator.url;
  tabs.push(...(await Promise.all(['a', 'b', 'c'].map((n) => openTab(url, n)))));
  await waitForStep(tabs, 4, 300_000);
  rogues = await startRogues(url, runId, [{ kind: 'random', seedByte: 111 }]);
  const rogueId = rogues.ids.get(111)!;
  const out = await waitForStatus(url, (st) => st.clients.find((c) => c.id === rogueId)?.state === 'ejected', 240_000);
  expect(out.clients.find((c) => c.id === rogueId)!.points).toBe(0);
  const views = await waitForStep(tabs, out.step + 2, 300_000);
  expectSameRounds(views, ...steps(views, 0));
  const honest = new Set(views.map((v) => v.clientId));
  const excludedHonest = coordinator.logs
    .filter((l) => l.includes('"agreed"'))
    .flatMap((l) => (JSON.parse(l) as { excluded: { clientId: string }[] }).excluded)
    .filter((x) => honest.has(x.clientId));
  expect(excludedHonest, 'honest updates excluded').toEqual([]);
  expect(coordinator.logs.some((l) => l.includes('"agreed"') && l.includes(rogueId))).toBe(true);
});

/**
 * The headless client in a run, as an operator uses it: two `npm run client`
 * processes (Dawn on SwiftShader, WebRTC through node-datachannel) train one
 * run with one checksum every round. One is stopped with SIGINT while it
 * holds a slot: it leaves at a round's end, its update of that round agreed,
 * and exits cleanly. The other is killed outright and restarted on
 * its state folder: the same key, so the same client with its points,
 * back from its resume record, training again.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startNodeClient, type NodeClient } from './node-client-process';
import { buildApp, freshDir, startCoordinator, status, testConfig, waitForStatus, waitForStep, type CoordinatorProcess } from './run-harness';
import { expectSameRounds, sharedSteps } from './same-rounds';

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
const clients: NodeClient[] = [];

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterEach(async ({}, info) => {
  if (info.status !== info.expectedStatus && coordinator) console.log(`coordinator log (last 80 lines):\n${coordinator.logs.slice(-80).join('\n')}`);
  await Promise.all(clients.splice(0).map((c) => c.kill()));
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

test('two headless clients train one run; SIGINT leaves after the round in flight; a killed client restarts as itself', async () => {
  test.setTimeout(600_000);
  const dir = freshDir('node-client');
  coordinator = await startCoordinator(dir, testConfig({ initMinClients: 2, globalBatch: { start: 4, end: 4, warmupTokens: 0 } }));
  const url = coordinator.url;
  const start = (name: string) => startNodeClient({ coordinator: url, stateDir: join(dir, name), name }).then((c) => (clients.push(c), c));
  let [a, b] = await Promise.all([start('node-a'), start('node-b')]);

  let views = await waitForStep([a, b], 5, 300_000);
  expectSameRounds(views, ...sharedSteps(views));
  const [idA, idB] = views.map((v) => v.clientId!);
  expect(idA).not.toBe(idB);
  // The key file: the client's identity, readable by its owner only.
  const keyFile = join(dir, 'node-b', 'key.json');
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(JSON.parse(readFileSync(keyFile, 'utf8')).publicKey).toBe(idB);

  // Killed (no chance to leave) and restarted on the same folder: the same client, its points kept and growing.
  const pointsBefore = (await status(url)).clients.find((c) => c.id === idB)!.points;
  expect(pointsBefore).toBeGreaterThan(0);
  await b.kill();
  clients.splice(clients.indexOf(b), 1);
  b = await start('node-b');
  const back = await b.waitFor((v) => v.status === 'training' && v.appliedStep >= (views[0].appliedStep + 3), 300_000);
  expect(back.clientId).toBe(idB);
  expect(back.resumedFrom).toBe('record');
  await waitForStatus(url, (s) => s.clients.find((c) => c.id === idB)!.points > pointsBefore, 120_000);
  views = await waitForStep([a, b], back.appliedStep + 2, 300_000);
  expectSameRounds(views, ...sharedSteps(views));

  // SIGINT while both hold slots: a leaves at a round's end, after applying the last round its update is in, and
  // exits 0; the run goes on with b alone.
  const mid = await waitForStatus(url, (s) => s.state === 'RoundTrain' && s.clients.filter((c) => c.state === 'member').length === 2, 60_000);
  a.signal('SIGINT');
  expect(await a.exited).toBe(0);
  clients.splice(clients.indexOf(a), 1);
  expect(a.logs.join('')).toContain('left the run');
  const aLast = await a.state();
  expect(aLast.status).toBe('left');
  expect((await status(url)).clients.find((c) => c.id === idA)!.state).toBe('gone');
  const bView = await b.waitFor((v) => v.appliedStep >= aLast.appliedStep + 3, 300_000);
  const both = bView.applied.filter((r) => r.hashes.length === 2).map((r) => r.step);
  const lastBoth = Math.max(...both);
  // The round in flight at the signal (or the one just ended, if a had not heard of the new round yet) kept a's update ...
  expect(lastBoth, `the last round with both updates; the signal came in round ${mid.step}`).toBeGreaterThanOrEqual(mid.step - 1);
  // ... a applied it and left at once ...
  expect(aLast.appliedStep).toBe(lastBoth + 1);
  // ... and no later round holds an update of a's.
  for (const r of bView.applied.filter((r) => r.step > lastBoth)) expect(r.hashes.length, `round ${r.step}`).toBeLessThanOrEqual(1);
});

/**
 * The run end to end (issue 4): the real coordinator process, separate
 * Chromium processes that click Contribute, WebRTC between them, DeMo
 * updates through the real codec, bit-identical replicas every round.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { expect, test } from '@playwright/test';
import { resolve } from 'node:path';
import type { RunView } from '../src/run-client/run-client';
import { TestClient } from '../server/test-client';
import { encodeBinaryFrame } from '../src/net/messages';
import { generateKeyPair, signCheckpoint, signCommitment } from '../src/protocol/commitment';
import { parseRunConfig } from '../src/run/run-config';
import { buildApp, freshDir, openTab, startCoordinator, status, testConfig, waitForStatus, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';

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

async function waitForCheckpoint(url: string, epoch: number, timeoutMs: number): Promise<{ epoch: number; step: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/checkpoint/latest`, { method: 'HEAD' });
    const found = { epoch: Number(res.headers.get('X-Tessera-Epoch')), step: Number(res.headers.get('X-Tessera-Step')) };
    if (res.ok && found.epoch >= epoch) return found;
    if (Date.now() > deadline) throw new Error(`no checkpoint of epoch ${epoch} within ${timeoutMs} ms (latest: ${JSON.stringify(found)})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const bytesHex = (b: Uint8Array) => bytesToHex(sha256(b));
const resolveDir = (name: string) => resolve('test-results', name);

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

/** Not a preset: the run names its model by a whole Hugging Face-style config (tiny's, with a wider MLP). */
const MODEL_OBJECT = {
  vocab_size: 256,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  q_lora_rank: 0,
  kv_lora_rank: 16,
  qk_nope_head_dim: 8,
  qk_rope_head_dim: 4,
  v_head_dim: 8,
  intermediate_size: 96,
  max_position_embeddings: 64,
};

test('three browsers train a model given as a config object for 10 rounds, in micro-batches: the loss falls and every round all replicas are bit-identical', async () => {
  test.setTimeout(600_000);
  // The plan allows micro-batches of 6 (a proof unit of the whole batch of 48); a tab's 16 sequences are
  // 8 proof units of 2, so it trains them as 8 micro-batches of 2 (a micro-batch never crosses a unit).
  coordinator = await startCoordinator(freshDir('run-three'), testConfig({ model: MODEL_OBJECT, globalBatch: { start: 48, end: 48, warmupTokens: 0 } }));
  tabs.push(...(await Promise.all(['a', 'b', 'c'].map((n) => openTab(coordinator!.url, n)))));
  const views = await waitForStep(tabs, 10, 480_000);
  for (const v of views) {
    expect(v.memory, 'memory plan').toMatchObject({ fits: true, microBatch: 6 });
    expect(v.memory!.bytes.weights).toBeGreaterThan(0);
  }
  await expect(tabs[0].page.getByTestId('run-micro-batch')).toHaveText('6 seq.');

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

  // A reload picks the run up again by itself, with the same key (IndexedDB) and the points it had, from the
  // parameters and momentum it saved (src/train/resume-store.ts): no checkpoint download, only the rounds it missed.
  const joinedAs = views[0].resume;
  expect(joinedAs).toMatchObject({ from: 'checkpoint', step: 0 });
  // Saving a tiny model costs next to nothing, so nearly every apply is saved: wait for the latest one.
  await expect.poll(async () => { const v = await tabs[0].state(); return v.resume.saved !== null && v.resume.saved.savedStep === v.appliedStep; }, { timeout: 60_000 }).toBe(true);
  const before = await tabs[0].state();
  expect(before.resume.saved!.saves).toBeGreaterThan(before.resume.saved!.skipped);
  console.log(`resume record: ${JSON.stringify(before.resume.saved)}`);
  const downloads: string[] = [];
  tabs[0].page.on('request', (r) => {
    if (r.url().includes('/api/checkpoint/')) downloads.push(r.url());
  });
  await tabs[0].page.reload();
  await expect.poll(async () => (await tabs[0].state()).resume.from, { timeout: 120_000 }).toBe('record');
  const resumed = (await tabs[0].state()).resume;
  console.log(`resumed: ${JSON.stringify(resumed)}`);
  expect(resumed.step).toBeGreaterThanOrEqual(before.resume.saved!.savedStep);
  // The momentum it resumed with is that of a round it trained (not restarted at zero, −1): at least the last one
  // before the save it waited for, and before the record's step (rounds are short: it may have trained the next already).
  const trainedBeforeSave = before.lossHistory.map((l) => l.step).filter((s) => s < before.resume.saved!.savedStep);
  expect(resumed.momentumStep).toBeGreaterThanOrEqual(Math.max(...trainedBeforeSave));
  expect(resumed.momentumStep).toBeLessThan(resumed.step);
  await expect(tabs[0].page.getByTestId('run-loaded-from')).toContainText('saved state');
  const again = await waitForStep(tabs, before.appliedStep + 3, 300_000);
  expect(again[0].clientId).toBe(before.clientId);
  expectSameRounds(again, resumed.step, before.appliedStep + 3);
  await expect.poll(async () => (await tabs[0].state()).lossHistory.length, { timeout: 120_000 }).toBeGreaterThan(0);
  const points = (await status(coordinator.url)).clients.find((c) => c.id === before.clientId)!.points;
  expect(points).toBeGreaterThan(before.points);
  expect(downloads, 'checkpoint requests after the reload').toEqual([]);
});

test('a tab whose GPU memory cannot hold the model says so, with the sizes, before it downloads anything', async () => {
  test.setTimeout(120_000);
  coordinator = await startCoordinator(freshDir('run-too-big'), testConfig());
  const requests: string[] = [];
  const tab = await openTab(coordinator.url, 'small', async (context) => {
    // The volunteer allowed 64 KiB: less than the tiny model's weights, gradients and momentum.
    await context.addInitScript(() => localStorage.setItem('tessera.gpuMemory', String(64 * 1024)));
    context.on('request', (r) => requests.push(new URL(r.url()).pathname));
  });
  tabs.push(tab);
  await expect(tab.page.getByTestId('run-status')).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
  await expect(tab.page.getByTestId('run-error')).toContainText(/this tab cannot train this model: the model needs [\d.]+ (KiB|MiB) \(weights .*\), more than the 64\.0 KiB this tab may use/);
  await expect(tab.page.getByTestId('run-memory-refused')).toBeVisible();
  const view = await tab.state();
  expect(view.memory).toMatchObject({ fits: false, microBatch: 0, budget: 64 * 1024 });
  expect(requests.filter((p) => p.startsWith('/api/checkpoint') || p.startsWith('/api/updates') || p.startsWith('/data/'))).toEqual([]);
  // It never asked to join.
  expect((await status(coordinator.url)).clients).toEqual([]);
});

/** The steps every view applied from `fromStep` on, up to the smallest appliedStep. */
function commonSteps(views: RunView[], fromStep: number): [number, number] {
  return [fromStep, Math.min(...views.map((v) => v.appliedStep))];
}

async function threeTabs(name: string, overrides = {}): Promise<void> {
  coordinator = await startCoordinator(freshDir(name), testConfig(overrides));
  tabs.push(...(await Promise.all(['a', 'b', 'c'].map((n) => openTab(coordinator!.url, n)))));
}

test('a browser closed mid-round: the others carry on, it leaves the run and keeps the points it earned', async () => {
  test.setTimeout(600_000);
  await threeTabs('run-kill');
  await waitForStep(tabs, 3, 300_000);
  const mid = await waitForStatus(coordinator!.url, (s) => s.state === 'RoundTrain', 60_000);
  const victim = tabs[2];
  const victimId = (await victim.state()).clientId!;
  const pointsBefore = mid.clients.find((c) => c.id === victimId)!.points;
  expect(pointsBefore).toBeGreaterThan(0);
  await victim.close();
  tabs.splice(2, 1);

  const views = await waitForStep(tabs, mid.step + 4, 300_000);
  expectSameRounds(views, ...commonSteps(views, 0));
  // After the kill the agreed sets hold only the two survivors' updates.
  const later = views[0].applied.filter((a) => a.step >= mid.step + 2);
  expect(later.length).toBeGreaterThan(0);
  for (const a of later) expect(a.hashes.length).toBe(2);
  const after = await status(coordinator!.url);
  const gone = after.clients.find((c) => c.id === victimId)!;
  expect(gone.state).toBe('gone');
  expect(gone.points).toBeGreaterThanOrEqual(pointsBefore);
});

test('a fourth browser joining mid-run catches up from a checkpoint a tab uploaded, and trains from the next round with the same checksum', async () => {
  test.setTimeout(600_000);
  // Short epochs: by the time the fourth tab comes, a tab has uploaded an epoch checkpoint.
  await threeTabs('run-join', { epochTime: 8_000 });
  await waitForStep(tabs, 3, 300_000);
  const checkpoint = await waitForCheckpoint(coordinator!.url, 1, 120_000);
  expect(checkpoint.step).toBeGreaterThan(0);
  // It came from one of the tabs, checked against its round's agreed checksum; the coordinator replayed nothing.
  const tabIds = await Promise.all(tabs.map(async (t) => (await t.state()).clientId));
  const accepted = coordinator!.logs.filter((l) => l.includes('"checkpoint-accepted"')).map((l) => JSON.parse(l) as { from: string; step: number; checksum: string });
  expect(accepted.length).toBeGreaterThan(0);
  for (const a of accepted) expect(tabIds).toContain(a.from);
  expect(accepted.some((a) => a.step === checkpoint.step)).toBe(true);
  expect(coordinator!.logs.filter((l) => /checkpoint-built|checkpoint-failed/.test(l))).toEqual([]);
  // A stale upload (a step no checkpoint is wanted for) and a forged one from a key that is not a member are refused.
  const latest = new Uint8Array(await (await fetch(`${coordinator!.url}/api/checkpoint/latest`)).arrayBuffer());
  const forged = latest.slice();
  forged[forged.length - 1] ^= 1;
  const outsider = generateKeyPair(new Uint8Array(32).fill(9));
  const put = (step: number, bytes: Uint8Array) =>
    fetch(`${coordinator!.url}/api/checkpoint/${step}?client=${bytesToHex(outsider.publicKey)}`, {
      method: 'PUT',
      headers: { 'X-Tessera-Signature': bytesToHex(signCheckpoint(bytes, outsider.secretKey, { runId: hexToBytes(parseRunConfig(testConfig()).runId), step })) },
      body: Buffer.from(bytes),
    });
  const stale = await put(checkpoint.step, latest);
  expect(stale.status).toBe(409);
  expect(await stale.json()).toMatchObject({ error: 'stale-checkpoint' });
  const wanted = await waitForStatus(coordinator!.url, (s) => s.state === 'Cooldown', 60_000);
  const byOutsider = await put(wanted.step, forged);
  expect([403, 409]).toContain(byOutsider.status);
  expect(coordinator!.logs.some((l) => l.includes('"http-refused"') && l.includes('/api/checkpoint/'))).toBe(true);
  const late = await openTab(coordinator!.url, 'd');
  tabs.push(late);
  const joinedAt = (await status(coordinator!.url)).step;
  // Catching up (checkpoint + every round so far) takes a while; then it trains as a member.
  await expect.poll(async () => (await late.state()).lossHistory.length, { timeout: 300_000, intervals: [1000] }).toBeGreaterThanOrEqual(2);
  const views = await waitForStep(tabs, (await late.state()).appliedStep, 300_000);
  // The late tab replayed every round since the checkpoint: same bits as the others at every step it has.
  const d = views[3];
  expectSameRounds(views, ...commonSteps(views, d.applied[0].step));
  // It started from the checkpoint (the client checks its GPU checksum equals the coordinator's CPU one).
  expect(d.applied[0].step).toBeGreaterThanOrEqual(checkpoint.step);
  expect(d.lossHistory[0].step).toBeGreaterThanOrEqual(joinedAt);
  // Its updates were agreed alongside the others': four updates in the rounds it trained.
  const trained = new Set(d.lossHistory.map((l) => l.step));
  const withD = views[0].applied.filter((a) => trained.has(a.step));
  expect(withD.length).toBeGreaterThan(0);
  for (const a of withD) expect(a.hashes.length).toBe(4);
  expect(d.points).toBeGreaterThan(0);
});

test('the coordinator killed and restarted mid-run: it resumes from SQLite, tabs reconnect, no round or point is lost', async () => {
  test.setTimeout(600_000);
  await threeTabs('run-restart');
  await waitForStep(tabs, 3, 300_000);
  const before = await status(coordinator!.url);
  const { port } = coordinator!;
  await coordinator!.kill();
  coordinator = await startCoordinator(resolveDir('run-restart'), null, port);
  const resumed = await status(coordinator.url);
  expect(resumed.step).toBeGreaterThanOrEqual(before.step);
  for (const c of before.clients) expect(resumed.clients.find((r) => r.id === c.id)!.points).toBeGreaterThanOrEqual(c.points);

  const views = await waitForStep(tabs, resumed.step + 3, 300_000);
  const [from, to] = commonSteps(views, 0);
  expectSameRounds(views, from, to);
  // Every round from 0 was applied by every tab (none lost), and the ledger pays exactly the agreed updates.
  for (const v of views) expect(v.applied.filter((a) => a.step < to).map((a) => a.step)).toEqual(Array.from({ length: to }, (_, i) => i));
  // Points are paid when a round ends: the status at step F has paid exactly the rounds before F.
  const final = await status(coordinator.url);
  const [late] = await waitForStep(tabs.slice(0, 1), final.step, 120_000);
  const agreedUpdates = late.applied.filter((a) => a.step < final.step).reduce((n, a) => n + a.hashes.length, 0);
  const paid = final.clients.reduce((n, c) => n + c.points, 0);
  expect(paid).toBe(10 * agreedUpdates);
});

test('a rogue client’s garbage, forged and replayed messages are each rejected and the honest run goes on', async () => {
  test.setTimeout(600_000);
  await threeTabs('run-rogue', { maxRoundTrainTime: 20_000 });
  await waitForStep(tabs, 2, 300_000);
  const ws = coordinator!.url.replace('http', 'ws') + '/ws';
  const rogue = await TestClient.connect(ws, 66);
  // Before authenticating, nothing but auth is accepted.
  rogue.sendJson({ type: 'join' });
  expect((await rogue.next('error')).code).toBe('not-authenticated');
  const welcome = await rogue.auth();
  const runId = welcome.config.runId;
  const errors: string[] = [];
  const expectError = async (code: string, send: () => void) => {
    send();
    const e = await rogue.next('error', () => true, 10_000);
    errors.push(e.code);
    expect(e.code, e.message).toBe(code);
  };
  await expectError('bad-json', () => rogue.ws.send('{"type": "join",'));
  await expectError('bad-message', () => rogue.sendJson({ type: 'commit', step: 'soon', hash: 'ab', signature: 'cd' }));
  await expectError('bad-message', () => rogue.sendJson({ type: 'teleport' }));
  await expectError('too-large', () => rogue.ws.send('x'.repeat(70_000)));
  await expectError('bad-frame', () => rogue.ws.send(Uint8Array.of(1, 2, 3)));
  await expectError('bad-message', () => rogue.sendJson({ type: 'signal', to: 'nobody', data: {} }));
  // A commit from a client that is not in the round, sent while the round takes commits (rounds are short here:
  // one that moved on to witnessing first answers wrong-phase, and the commit is sent again in the next round).
  for (let tries = 0; ; tries++) {
    const { step } = await waitForStatus(coordinator!.url, (s) => s.state === 'RoundTrain', 60_000);
    rogue.sendJson({ type: 'commit', step, hash: 'ab'.repeat(32), signature: 'cd'.repeat(64) });
    const e = await rogue.next('error', () => true, 10_000);
    if (e.code === 'wrong-phase' && tries < 5) continue;
    errors.push(e.code);
    expect(e.code, e.message).toBe('not-in-round');
    break;
  }
  // Join; as a member: a commit whose signature is not its own, an oversized payload, a payload that is not
  // the committed one, garbage under a valid commitment (next round), an old step's commit.
  rogue.sendJson({ type: 'join' });
  const { round } = await rogue.next('round', (m) => m.round.slots.includes(rogue.id), 120_000);
  const live = { step: round.step };
  await expectError('bad-signature', () => rogue.sendJson({ type: 'commit', step: live.step, hash: 'ab'.repeat(32), signature: 'cd'.repeat(64) }));
  const committed = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const hash = bytesHex(committed);
  await expectError('too-large', () => rogue.ws.send(encodeBinaryFrame({ type: 'relayPut', step: live.step, hash }, new Uint8Array(64 * 1024))));
  const sig = signCommitment(sha256(committed), rogue.keys.secretKey, { runId: hexToBytes(runId), step: live.step });
  rogue.sendJson({ type: 'commit', step: live.step, hash, signature: bytesToHex(sig) });
  rogue.ws.send(encodeBinaryFrame({ type: 'relayPut', step: live.step, hash }, committed.map((b) => b ^ 1)));
  errors.push((await rogue.next('error', (e) => e.code === 'hash-mismatch', 20_000)).code);
  const { round: next } = await rogue.next('round', (m) => m.round.step > live.step && m.round.slots.includes(rogue.id), 120_000);
  const garbage = Uint8Array.from({ length: 700 }, (_, i) => (i * 37) & 0xff);
  rogue.commitAndUpload(runId, next.step, garbage);
  errors.push((await rogue.next('error', (e) => e.code === 'bad-payload', 20_000)).code);
  rogue.commitAndUpload(runId, Math.max(0, next.step - 2), garbage);
  errors.push((await rogue.next('error', (e) => e.code === 'stale-step', 20_000)).code);
  expect(errors).toEqual(['bad-json', 'bad-message', 'bad-message', 'too-large', 'bad-frame', 'bad-message', 'not-in-round', 'bad-signature', 'too-large', 'hash-mismatch', 'bad-payload', 'stale-step']);

  // The honest tabs keep training in lockstep, with every round agreed among themselves.
  const views = await waitForStep(tabs.slice(0, 3), next.step + 3, 300_000);
  expectSameRounds(views, ...commonSteps(views, 0));
  for (const a of views[0].applied) for (const h of a.hashes) expect(h).not.toBe(bytesHex(garbage));
  const logs = coordinator!.logs.join('\n');
  for (const code of new Set(errors)) expect(logs).toContain(code);
  await rogue.close();
});

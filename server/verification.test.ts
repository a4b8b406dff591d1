/**
 * Verification through the real coordinator (sockets, keys, stored payloads):
 * the copy check on uploads, the drawn committee's scores deciding, strikes,
 * ejection, and the ejected key refused at the door.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex } from '@noble/hashes/utils.js';
import { commitment } from '../src/protocol/commitment';
import { decodeUpdate, encodeUpdate, PROOF_ROWS, proofUnits, UPDATE_FORMAT_VERSION } from '../src/protocol/update-codec';
import { encodeBitmap } from '../src/run/bitmap';
import type { RunConfig, RunConfigInput } from '../src/run/run-config';
import type { Round } from '../src/run/types';
import { runModel } from './run-model';
import { TestClient } from './test-client';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { FakeClock, startTestServer, tempDir, type TestServer } from './test-server';

const CHECKSUM = '0123456789abcdef';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(verification: NonNullable<RunConfigInput['verification']>) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const clock = new FakeClock();
  const config = serverTestConfig({ initMinClients: 3, globalBatch: { start: 6, end: 6, warmupTokens: 0 }, verification });
  const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config });
  cleanups.push(() => server.stop());
  const clients: TestClient[] = [];
  for (const seed of [1, 2, 3]) {
    const c = await TestClient.connect(server.wsUrl, seed);
    cleanups.push(() => c.close());
    await c.auth();
    c.sendJson({ type: 'join' });
    clients.push(c);
  }
  await clients[2].next('phase', (m) => m.to === 'Warmup');
  clock.advance(config.warmupTime);
  server.coordinator.tick();
  const round = (await clients[0].next('round')).round;
  return { config, server, clients, round, clock };
}

/** The same coefficients and signs under another header: what a copier or a replayer sends. */
function reheaded(config: RunConfig, bytes: Uint8Array, step: number, batch: { start: number; count: number }): Uint8Array {
  const rm = runModel(config);
  const u = decodeUpdate(bytes, rm.expected);
  const { chunk, topk, quantize1bit } = rm.expected;
  const proof = new Float32Array(proofUnits(batch.count) * PROOF_ROWS);
  proof.set(u.proof.subarray(0, proof.length));
  return encodeUpdate({ version: UPDATE_FORMAT_VERSION, runId: rm.runId, step, batchStart: batch.start, batchCount: batch.count, tensors: u.tensors, proof }, { chunk, topk, quantize1bit });
}

/** Every `every`-th value's sign negated: a near-copy. */
function flippedSigns(config: RunConfig, bytes: Uint8Array, every: number): Uint8Array {
  const rm = runModel(config);
  const u = decodeUpdate(bytes, rm.expected);
  let n = 0;
  const tensors = u.tensors.map((t) => ({ ...t, values: t.values.map((v) => (n++ % every === 0 ? -v : v)) }));
  const { chunk, topk, quantize1bit } = rm.expected;
  return encodeUpdate({ ...u, tensors }, { chunk, topk, quantize1bit });
}

async function upload(c: TestClient, config: RunConfig, round: Round, payload: Uint8Array): Promise<string> {
  const hash = c.commitAndUpload(config.runId, round.step, payload);
  await c.next('ack', (m) => m.of === 'commit' && m.hash === hash);
  return hash;
}

/** Everyone witnesses; each verifier reports score(authorSlot) for the slots it was drawn for. */
async function witnessAll(server: TestServer, config: RunConfig, clients: TestClient[], score: (slot: number) => number = () => 500) {
  await clients[0].next('phase', (m) => m.to === 'RoundWitness');
  const round = server.coordinator.state.round!;
  expect(round.checks).not.toBeNull(); // drawn as commits closed
  for (const c of clients) {
    const scores = round.checks!.filter((k) => k.verifiers.includes(c.id)).map((k) => ({ slot: k.slot, score: score(k.slot) }));
    c.witness(config.runId, round.step, encodeBitmap(round.slots.map(() => true)), CHECKSUM, scores);
    await c.next('ack', (m) => m.of === 'witness');
  }
  return clients[0].next('agreed', (m) => m.step === round.step);
}

describe('verification on the coordinator', () => {
  it('a re-headed copy of a member’s update is found on upload, excluded, struck and unpaid; the original is agreed', async () => {
    const { config, server, clients, round } = await setUp({ probationRounds: 0, vestingRounds: 0, sampleRate: 0 });
    const [a, b, c] = clients;
    const slot = (x: TestClient) => round.slots.indexOf(x.id);
    const original = encodedTestUpdate(config, round.step, 11, round.assignments[slot(a)]);
    const ha = await upload(a, config, round, original);
    await upload(b, config, round, encodedTestUpdate(config, round.step, 12, round.assignments[slot(b)]));
    await upload(c, config, round, reheaded(config, original, round.step, round.assignments[slot(c)]));
    const agreed = await witnessAll(server, config, clients);
    expect(agreed.clients.sort()).toEqual([a.id, b.id].sort());
    expect(agreed.excluded).toEqual([{ slot: slot(c), clientId: c.id, reason: expect.stringContaining(`a copy of update ${ha.slice(0, 12)}: 1000‰`) }]);
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { clients: { id: string; points: number; standing: { strikes: number } }[] };
    expect(status.clients.find((x) => x.id === c.id)).toMatchObject({ points: 0, standing: { strikes: 1 } });
    expect(status.clients.find((x) => x.id === a.id)).toMatchObject({ points: 10, standing: { strikes: 0 } });
    expect(server.log.records.some((l) => l.event === 'strike' && l.clientId === c.id)).toBe(true);
  });

  it('a replay of an agreed update of an earlier round is a copy too', async () => {
    const { config, server, clients, round, clock } = await setUp({ probationRounds: 0, vestingRounds: 0, sampleRate: 0 });
    const payloads = new Map<string, Uint8Array>();
    for (const [i, x] of clients.entries()) {
      const p = encodedTestUpdate(config, round.step, 20 + i, round.assignments[round.slots.indexOf(x.id)]);
      payloads.set(x.id, p);
      await upload(x, config, round, p);
    }
    await witnessAll(server, config, clients);
    clock.advance(1);
    const next = (await clients[0].next('round', (m) => m.round.step === round.step + 1)).round;
    const [a, b, c] = clients;
    await upload(a, config, next, encodedTestUpdate(config, next.step, 30, next.assignments[next.slots.indexOf(a.id)]));
    await upload(b, config, next, encodedTestUpdate(config, next.step, 31, next.assignments[next.slots.indexOf(b.id)]));
    // c replays b's agreed update of the round before, re-headed for this round.
    await upload(c, config, next, reheaded(config, payloads.get(b.id)!, next.step, next.assignments[next.slots.indexOf(c.id)]));
    const agreed = await witnessAll(server, config, clients);
    expect(agreed.excluded.map((x) => x.clientId)).toEqual([c.id]);
  });

  it('a near-replay (10 % of signs flipped) of an update ten rounds old is a full copy: the index covers the whole run and signs do not count', async () => {
    const { config, server, clients, clock } = await setUp({ probationRounds: 0, vestingRounds: 0, sampleRate: 0 });
    let round = server.coordinator.state.round!;
    let old: Uint8Array | null = null;
    for (let r = 0; r < 10; r++) {
      for (const [i, x] of clients.entries()) {
        const p = encodedTestUpdate(config, round.step, 100 * r + i, round.assignments[round.slots.indexOf(x.id)]);
        if (r === 0 && i === 1) old = p;
        await upload(x, config, round, p);
      }
      const agreed = await witnessAll(server, config, clients);
      expect(agreed.excluded, `round ${round.step}`).toEqual([]);
      clock.advance(1);
      round = (await clients[0].next('round', (m) => m.round.step === round.step + 1)).round;
    }
    const [a, b, c] = clients;
    const slot = (x: TestClient) => round.slots.indexOf(x.id);
    await upload(a, config, round, encodedTestUpdate(config, round.step, 2000, round.assignments[slot(a)]));
    await upload(b, config, round, encodedTestUpdate(config, round.step, 2001, round.assignments[slot(b)]));
    await upload(c, config, round, flippedSigns(config, reheaded(config, old!, round.step, round.assignments[slot(c)]), 10));
    // Signs do not count: the flipped entries still sit at the copied indices.
    const agreed = await witnessAll(server, config, clients);
    expect(agreed.excluded).toEqual([{ slot: slot(c), clientId: c.id, reason: expect.stringContaining(`a copy of update ${bytesToHex(commitment(old!)).slice(0, 12)}: 1000‰`) }]);
  });

  it('the drawn committee decides: an update its verifiers fail is excluded and struck, and maxStrikes eject the key for good', async () => {
    const { config, server, clients, round } = await setUp({ probationRounds: 2, vestingRounds: 0, verifiers: 2, maxStrikes: 1 });
    for (const [i, x] of clients.entries()) await upload(x, config, round, encodedTestUpdate(config, round.step, 40 + i, round.assignments[round.slots.indexOf(x.id)]));
    const cheater = clients[1];
    const cheaterSlot = round.slots.indexOf(cheater.id);
    const agreed = await witnessAll(server, config, clients, (slot) => (slot === cheaterSlot ? -400 : 300));
    expect(server.log.records.filter((l) => l.event === 'verdict' && l.step === round.step)).toHaveLength(3); // probation: every update checked
    expect(agreed.excluded).toEqual([{ slot: cheaterSlot, clientId: cheater.id, reason: expect.stringContaining('failed verification: median score -400 <') }]);
    // One strike is all maxStrikes 1 allows: the socket is closed with `ejected`, and the key cannot come back.
    expect((await cheater.next('error', (m) => m.code === 'ejected')).message).toMatch(/1 strikes/);
    const again = await TestClient.connect(server.wsUrl, 2);
    cleanups.push(() => again.close());
    const hello = await again.next('hello');
    expect(hello.type).toBe('hello');
    again.sendAuth();
    expect((await again.next('error')).code).toBe('ejected');
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { clients: { id: string; state: string; points: number }[] };
    expect(status.clients.find((x) => x.id === cheater.id)).toMatchObject({ state: 'ejected', points: 0 });
    for (const honest of [clients[0], clients[2]]) expect(status.clients.find((x) => x.id === honest.id)!.points).toBe(10);
  });
});

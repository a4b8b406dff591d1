import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { signCheckpoint } from '../src/protocol/commitment';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBitmap } from '../src/run/bitmap';
import type { RunConfig } from '../src/run/run-config';
import type { Round } from '../src/run/types';
import { replayRounds } from './checkpointer';
import { Coordinator, CoordinatorError } from './coordinator';
import { memoryLogger } from './log';
import { CLOSE_DROPPED } from './socket';
import { Store } from './store';
import { decodeUpdateBundle } from '../src/net/update-bundle';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { TestClient } from './test-client';
import { FakeClock, startTestServer, tempDir, twoMembersInRound, type TestServer } from './test-server';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(dbPath: string, clock: FakeClock, config?: RunConfig): Promise<TestServer> {
  const server = await startTestServer({ dbPath, clock, config });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await server.stop();
  });
  const stop = server.stop;
  server.stop = async () => {
    stopped = true;
    await stop();
  };
  return server;
}

async function connect(server: TestServer, seed: number): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl, seed);
  cleanups.push(() => c.close());
  return c;
}

async function latestChecksum(server: TestServer): Promise<string> {
  const res = await fetch(`${server.url}/api/checkpoint/latest`);
  await res.arrayBuffer();
  return res.headers.get('x-tessera-checksum')!;
}

/** Every client trains, uploads, and witnesses everything: one whole round. Returns the payloads and hashes in slot order. */
async function playRound(config: RunConfig, clients: TestClient[], round: Round, checksum: string): Promise<{ hashes: string[]; payloads: Uint8Array[] }> {
  const hashes: string[] = [];
  const payloads: Uint8Array[] = [];
  for (const c of clients) {
    const slot = round.slots.indexOf(c.id);
    payloads[slot] = encodedTestUpdate(config, round.step, 1000 * round.step + slot + 1, round.assignments[slot]);
    hashes[slot] = c.commitAndUpload(config.runId, round.step, payloads[slot]);
    expect((await c.next('ack', (m) => m.of === 'commit')).hash).toBe(hashes[slot]);
  }
  await clients[0].next('phase', (m) => m.to === 'RoundWitness' && m.step === round.step);
  const held = encodeBitmap(round.slots.map(() => true));
  for (const c of clients) {
    c.witness(config.runId, round.step, held, checksum);
    await c.next('ack', (m) => m.of === 'witness');
  }
  const agreed = await clients[0].next('agreed', (m) => m.step === round.step);
  expect(agreed.slots).toEqual(round.slots.map((_, i) => i));
  expect(agreed.hashes).toEqual(hashes);
  expect(agreed.lrBits).toBe(round.lrBits);
  return { hashes, payloads };
}

describe('Coordinator with real sockets, keys and updates', () => {
  it('two clients join, train a round, earn points; after a restart on the same file everything is there and they continue', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const db = join(dir, 'run.sqlite');
    const clock = new FakeClock();
    const config = serverTestConfig();
    let server = await start(db, clock, config);
    const epoch0 = await latestChecksum(server);

    const a = await connect(server, 1);
    const b = await connect(server, 2);
    const welcome = await a.auth();
    expect(welcome.clientId).toBe(a.id);
    expect(welcome.config).toEqual(config);
    expect(welcome.state.phase).toBe('WaitingForMembers');
    await b.auth();

    a.sendJson({ type: 'join' });
    await a.next('ack', (m) => m.of === 'join');
    b.sendJson({ type: 'join' });
    await b.next('ack', (m) => m.of === 'join');
    await a.next('phase', (m) => m.to === 'Warmup');

    clock.advance(config.warmupTime);
    server.coordinator.tick();
    const round0 = (await a.next('round')).round;
    expect(round0.slots).toEqual([a.id, b.id]);
    expect((await b.next('round')).round).toEqual(round0);
    const played = await playRound(config, [a, b], round0, epoch0);
    for (const c of [a, b]) {
      const pts = await a.next('points', (m) => m.clientId === c.id);
      expect(pts).toMatchObject({ step: 0, amount: config.pointsPerUpdate, total: config.pointsPerUpdate });
    }

    const status = await (await fetch(`${server.url}/api/status`)).json();
    expect(status).toMatchObject({
      state: 'RoundTrain',
      epoch: 0,
      step: 1,
      clients: [
        { id: a.id, state: 'member', points: 10 },
        { id: b.id, state: 'member', points: 10 },
      ],
    });
    const bundle = decodeUpdateBundle(new Uint8Array(await (await fetch(`${server.url}/api/updates?fromStep=0`)).arrayBuffer()));
    expect(bundle.toStep).toBe(1);
    expect(bundle.rounds.map((r) => r.hashes)).toEqual([played.hashes]);
    expect(bundle.rounds[0].payloads).toEqual(played.payloads);

    // Restart: same file, no config given; nothing may be lost.
    const before = server.coordinator.state;
    const ledger = server.store.pointsLedger();
    expect(ledger.map((r) => [r.clientId, r.step, r.amount])).toEqual([
      [a.id, 0, 10],
      [b.id, 0, 10],
    ]);
    await server.stop();
    clock.advance(60_000);
    server = await start(db, clock);
    expect(server.log.records.some((r) => r.event === 'run-resumed')).toBe(true);
    const after = server.coordinator.state;
    expect(after.step).toBe(1);
    expect(after.phase).toBe(before.phase);
    expect(after.clients).toEqual(before.clients);
    expect(after.round).toEqual(before.round);
    // `recovered` restarted the phase clock, so the downtime is not held against anyone.
    expect(after.phaseStartedAt).toBe(clock.t);
    expect(server.store.pointsLedger()).toEqual(ledger);

    const a2 = await connect(server, 1);
    const b2 = await connect(server, 2);
    const rejoined = await a2.auth();
    expect(rejoined.state.clients[a.id].status).toBe('member');
    await b2.auth();
    // The live round was announced before the restart; a reconnecting client reads it from welcome's state.
    const round1 = rejoined.state.round!;
    expect(round1.step).toBe(1);
    const checksum1 = replayRounds(config, server.store.checkpointAtOrBefore(0)!.bytes, [{ step: 0, lrBits: round0.lrBits, payloads: played.payloads }]).checksum;
    await playRound(config, [a2, b2], round1, checksum1);
    const total = await a2.next('points', (m) => m.clientId === b.id && m.step === 1);
    expect(total.total).toBe(20);
    expect(server.store.pointsLedger()).toHaveLength(4);
  });

  it('an epoch end takes its checkpoint from a member’s upload (PUT, gzip, signed) once the next round agrees its checksum; a flipped bit is rejected', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const config = serverTestConfig({ epochTime: 500 });
    const server = await start(join(dir, 'run.sqlite'), clock, config);
    const base = server.store.latestCheckpoint()!;
    const { a, b, round: round0 } = await twoMembersInRound(server, clock, config, connect);
    clock.advance(600); // the round runs past epochTime, so the epoch ends with it
    await playRound(config, [a, b], round0, base.checksum);
    await a.next('phase', (m) => m.to === 'Cooldown');
    expect(server.store.pendingCheckpoints()).toEqual([{ epoch: 1, step: 1 }]);

    // What the members hold after round 0, as the CPU replays it (the GPU gives the same bits: src/train tests).
    const rows = server.store.agreedRange(0, 1);
    const expected = replayRounds(config, base.bytes, [{ step: 0, lrBits: rows[0].lrBits, payloads: rows[0].hashes.map((h) => server.store.getPayload(h)!) }]);
    const put = (who: TestClient, bytes: Uint8Array, step = 1) =>
      fetch(`${server.url}/api/checkpoint/${step}?client=${who.id}`, {
        method: 'PUT',
        headers: { 'Content-Encoding': 'gzip', 'X-Tessera-Signature': bytesToHex(signCheckpoint(bytes, who.keys.secretKey, { runId: hexToBytes(config.runId), step })) },
        body: gzipSync(bytes),
      });
    const forgedBytes = expected.bytes.slice();
    forgedBytes[forgedBytes.length - 1] ^= 1;
    expect((await put(b, forgedBytes)).status).toBe(202);
    expect(await (await put(a, expected.bytes)).json()).toEqual({ status: 'held' });
    expect((await put(a, expected.bytes, 0)).status).toBe(409);
    expect(server.store.latestCheckpoint()!.epoch).toBe(0);

    clock.advance(config.cooldownTime);
    server.coordinator.tick();
    const round1 = (await a.next('round', (m) => m.round.step === 1)).round;
    await playRound(config, [a, b], round1, expected.checksum);
    const built = server.store.latestCheckpoint()!;
    expect(built).toMatchObject({ epoch: 1, step: 1, checksum: expected.checksum });
    expect(built.bytes).toEqual(expected.bytes);
    expect(built.checksum).not.toBe(base.checksum);
    const res = await fetch(`${server.url}/api/checkpoint/latest`);
    expect(res.headers.get('x-tessera-epoch')).toBe('1');
    expect(res.headers.get('x-tessera-checksum')).toBe(built.checksum);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(built.bytes);
  });

  it('a member that misses more rounds than allowed is dropped and its socket closed', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const config = serverTestConfig({ maxMissedRounds: 0 });
    const server = await start(join(dir, 'run.sqlite'), clock, config);
    const { a, b, round } = await twoMembersInRound(server, clock, config, connect);
    const slot = round.slots.indexOf(a.id);
    a.commitAndUpload(config.runId, round.step, encodedTestUpdate(config, round.step, 3, round.assignments[slot]));
    await a.next('ack', (m) => m.of === 'commit');
    clock.advance(config.maxRoundTrainTime);
    server.coordinator.tick();
    a.witness(config.runId, round.step, encodeBitmap(round.slots.map((id) => id === a.id)), (await latestChecksum(server)));
    await a.next('ack', (m) => m.of === 'witness');
    clock.advance(config.roundWitnessTime);
    server.coordinator.tick();
    const err = await b.next('error');
    expect(err.code).toBe('dropped');
    await new Promise<void>((resolve) => (b.closed ? resolve() : b.ws.once('close', () => resolve())));
    expect(b.closed?.code).toBe(CLOSE_DROPPED);
    expect(server.coordinator.state.clients[b.id].status).toBe('gone');
    expect(server.coordinator.state.clients[a.id]).toMatchObject({ status: 'member', points: config.pointsPerUpdate });
  });
});

describe('Coordinator persistence', () => {
  it('keeps its old state when the step cannot be stored', () => {
    const store = Store.open(':memory:');
    const log = memoryLogger();
    const coordinator = Coordinator.open({ store, config: serverTestConfig(), now: () => 5, log });
    expect(coordinator.join('a'.repeat(64))).toEqual({ rejected: null });
    const before = coordinator.state;
    store.close();
    const outcome = coordinator.join('b'.repeat(64));
    expect(outcome.rejected).toMatch(/could not store/);
    expect(coordinator.state).toBe(before);
    expect(log.records.at(-1)?.event).toBe('persist-failed');
  });

  it('refuses to resume a database with a different config', () => {
    const store = Store.open(':memory:');
    const log = memoryLogger();
    Coordinator.open({ store, config: serverTestConfig(), now: () => 5, log });
    expect(() => Coordinator.open({ store, config: serverTestConfig({ warmupTime: 7 }), now: () => 6, log })).toThrow(CoordinatorError);
    expect(Coordinator.open({ store, now: () => 6, log }).config).toEqual(serverTestConfig());
    store.close();
  });
});

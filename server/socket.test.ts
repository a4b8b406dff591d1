import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signAuth } from '../src/net/auth-signature';
import { encodeBinaryFrame, MAX_BINARY_HEADER_BYTES, MAX_TEXT_FRAME_BYTES } from '../src/net/messages';
import { signCommitment } from '../src/protocol/commitment';
import { unitSizeFor } from '../src/protocol/update-codec';
import type { Round } from '../src/run/types';
import { runModel } from './run-model';
import { CLOSE_POLICY, CLOSE_REPLACED } from './socket';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { TestClient } from './test-client';
import { FakeClock, startTestServer, tempDir, twoMembersInRound, type TestServer } from './test-server';

const config = serverTestConfig();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(limits = {}): Promise<{ server: TestServer; clock: FakeClock }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const clock = new FakeClock();
  const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config, limits });
  cleanups.push(() => server.stop());
  return { server, clock };
}

async function connect(server: TestServer, seed: number): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl, seed);
  cleanups.push(() => c.close());
  return c;
}

/** The whole persisted and in-memory picture, to show a refused frame changed nothing. */
function snapshot(server: TestServer): string {
  return JSON.stringify([server.coordinator.state, server.store.loadSnapshot(), server.store.pointsLedger()]);
}

/** Two members and a round in RoundTrain. */
function inRound(server: TestServer, clock: FakeClock): Promise<{ a: TestClient; b: TestClient; round: Round }> {
  return twoMembersInRound(server, clock, config, connect);
}

describe('socket handshake', () => {
  it('authenticates with a valid signature: welcome carries the client id, the config and the state', async () => {
    const { server } = await setup();
    const a = await connect(server, 1);
    const welcome = await a.auth();
    expect(welcome.clientId).toBe(a.id);
    expect(welcome.config.runId).toBe(config.runId);
    expect(welcome.state).toEqual(server.coordinator.state);
  });

  it('refuses a signature over another challenge and stays unauthenticated', async () => {
    const { server } = await setup();
    const a = await connect(server, 1);
    const hello = await a.next('hello');
    const wrongChallenge = new Uint8Array(32).fill(9);
    const sig = signAuth(hexToBytes(hello.runId), wrongChallenge, a.keys.secretKey);
    const before = snapshot(server);
    a.sendJson({ type: 'auth', publicKey: a.id, signature: bytesToHex(sig) });
    expect((await a.next('error')).code).toBe('bad-signature');
    a.sendJson({ type: 'join' });
    expect((await a.next('error')).code).toBe('not-authenticated');
    expect(snapshot(server)).toBe(before);
    expect(server.log.records.filter((r) => r.event === 'frame-refused').map((r) => r.code)).toEqual(['bad-signature', 'not-authenticated']);
  });

  it('a second socket with the same key replaces the first without the client leaving the run', async () => {
    const { server } = await setup();
    const first = await connect(server, 1);
    await first.auth();
    first.sendJson({ type: 'join' });
    await first.next('ack');
    const second = await connect(server, 1);
    await second.auth();
    expect((await first.next('error')).code).toBe('replaced');
    await new Promise<void>((resolve) => (first.closed ? resolve() : first.ws.once('close', () => resolve())));
    expect(first.closed?.code).toBe(CLOSE_REPLACED);
    expect(server.coordinator.state.clients[second.id].status).toBe('joining');
    second.sendJson({ type: 'leave' });
    await second.next('ack', (m) => m.of === 'leave');
    expect(server.coordinator.state.clients[second.id].status).toBe('gone');
  });
});

describe('socket garbage', () => {
  it('non-JSON, wrong schema, binary, oversized and unauthenticated frames each get an error and change nothing', async () => {
    const { server } = await setup();
    const a = await connect(server, 1);
    await a.next('hello');
    const before = snapshot(server);
    const cases: [() => void, string][] = [
      [() => a.ws.send('not json at all'), 'bad-json'],
      [() => a.sendJson({ type: 'join' }), 'not-authenticated'],
      [() => a.ws.send(Uint8Array.from([1, 2, 3])), 'not-authenticated'],
      [() => a.sendJson({ type: 'auth', publicKey: 'xyz', signature: '00' }), 'bad-message'],
      [() => a.ws.send('{"type":"join"}' + ' '.repeat(MAX_TEXT_FRAME_BYTES)), 'too-large'],
    ];
    for (const [send, code] of cases) {
      send();
      expect((await a.next('error')).code).toBe(code);
    }
    await a.auth();
    const afterAuth = snapshot(server);
    const authed: [() => void, string][] = [
      [() => a.ws.send(Uint8Array.from([1, 2, 3])), 'bad-frame'],
      [() => a.ws.send(Uint8Array.from([0xff, 0xff, 0, 0, 1])), 'bad-frame'],
      [() => a.ws.send(new Uint8Array(4 + MAX_BINARY_HEADER_BYTES + runModel(config).updateBytes + 1)), 'too-large'],
      [() => a.sendJson({ type: 'join', please: true }), 'bad-message'],
      [() => a.sendJson({ type: 'signal', to: 'ab'.repeat(32), data: {} }), 'unknown-peer'],
      [() => a.sendJson({ type: 'relayGet', hash: 'ab'.repeat(32) }), 'not-found'],
    ];
    for (const [send, code] of authed) {
      send();
      expect((await a.next('error')).code).toBe(code);
    }
    expect(JSON.parse(afterAuth)).toEqual(JSON.parse(before));
    expect(snapshot(server)).toBe(before);
    expect(a.closed).toBeNull();
  });

  it('closes a socket that keeps sending garbage', async () => {
    const { server } = await setup({ errorBurst: 3, errorRefillMs: 1_000_000 });
    const a = await connect(server, 1);
    for (let i = 0; i < 4; i++) a.ws.send('garbage');
    await a.next('error', (m) => m.code === 'too-many-errors');
    await new Promise<void>((resolve) => (a.closed ? resolve() : a.ws.once('close', () => resolve())));
    expect(a.closed?.code).toBe(CLOSE_POLICY);
  });
});

describe('signal relay', () => {
  it('passes WebRTC signals between two authenticated clients, naming the sender', async () => {
    const { server } = await setup();
    const a = await connect(server, 1);
    const b = await connect(server, 2);
    await a.auth();
    await b.auth();
    const data = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
    a.sendJson({ type: 'signal', to: b.id, data });
    expect(await b.next('signal')).toEqual({ type: 'signal', from: a.id, data });
    b.sendJson({ type: 'signal', to: a.id, data: { candidate: 'x' } });
    expect((await a.next('signal')).from).toBe(b.id);
    a.sendJson({ type: 'signal', to: a.id, data: {} });
    expect((await a.next('error')).code).toBe('unknown-peer');
  });
});

describe('commit and payload relay', () => {
  it('stores a payload only against a verified commit with a matching hash, then serves it to peers', async () => {
    const { server, clock } = await setup();
    const { a, b, round } = await inRound(server, clock);
    const slot = round.slots.indexOf(a.id);
    const payload = encodedTestUpdate(config, round.step, 7, round.assignments[slot]);
    const hash = bytesToHex(sha256(payload));
    const before = snapshot(server);

    // relayPut before any commit.
    a.ws.send(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash }, payload));
    expect((await a.next('error')).code).toBe('no-commitment');
    // A commit signed by someone else's key.
    const forged = signCommitment(hexToBytes(hash), b.keys.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    a.sendJson({ type: 'commit', step: round.step, hash, signature: bytesToHex(forged) });
    expect((await a.next('error')).code).toBe('bad-signature');
    // A commit for another step.
    const sigOther = signCommitment(hexToBytes(hash), a.keys.secretKey, { runId: hexToBytes(config.runId), step: round.step + 1 });
    a.sendJson({ type: 'commit', step: round.step + 1, hash, signature: bytesToHex(sigOther) });
    expect((await a.next('error')).code).toBe('stale-step');
    expect(snapshot(server)).toBe(before);

    // A valid commit, then bytes that do not match it, then bytes trained on the wrong range.
    const sig = signCommitment(hexToBytes(hash), a.keys.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    a.sendJson({ type: 'commit', step: round.step, hash, signature: bytesToHex(sig) });
    const tampered = payload.slice();
    tampered[tampered.length - 1] ^= 1;
    a.ws.send(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash }, tampered));
    expect((await a.next('error')).code).toBe('hash-mismatch');
    const wrongRange = encodedTestUpdate(config, round.step, 7, { start: round.assignments[slot].start + 1, count: round.assignments[slot].count });
    const wrongHash = bytesToHex(sha256(wrongRange));
    const wrongSig = signCommitment(hexToBytes(wrongHash), a.keys.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    a.sendJson({ type: 'commit', step: round.step, hash: wrongHash, signature: bytesToHex(wrongSig) });
    a.ws.send(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash: wrongHash }, wrongRange));
    expect((await a.next('error')).code).toBe('bad-payload');
    b.sendJson({ type: 'relayGet', hash: wrongHash });
    expect((await b.next('error')).code).toBe('not-found');
    expect(server.coordinator.state.round!.commitments[slot]).toBeNull();

    // The real thing.
    expect(a.commitAndUpload(config.runId, round.step, payload)).toBe(hash);
    expect(await a.next('ack', (m) => m.of === 'commit')).toEqual({ type: 'ack', of: 'commit', step: round.step, hash });
    expect(server.coordinator.state.round!.commitments[slot]).toBe(hash);
    expect(server.store.commitments(round.step)).toEqual([{ step: round.step, slot, clientId: a.id, hash, signature: bytesToHex(sig) }]);
    b.sendJson({ type: 'relayGet', hash });
    const got = await b.nextBinary();
    expect(got.hash).toBe(hash);
    expect(got.payload).toEqual(payload);

    // The same commit again, in the same round and after it.
    a.sendJson({ type: 'commit', step: round.step, hash, signature: bytesToHex(sig) });
    expect((await a.next('error')).code).toBe('already-committed');
    clock.advance(config.maxRoundTrainTime);
    server.coordinator.tick();
    await a.next('phase', (m) => m.to === 'RoundWitness');
    a.sendJson({ type: 'commit', step: round.step, hash, signature: bytesToHex(sig) });
    expect((await a.next('error')).code).toBe('wrong-phase');
    clock.advance(config.roundWitnessTime);
    server.coordinator.tick();
    await a.next('agreed');
    const afterRound = snapshot(server);
    a.sendJson({ type: 'commit', step: round.step, hash, signature: bytesToHex(sig) });
    expect((await a.next('error')).code).toBe('stale-step');
    expect(snapshot(server)).toBe(afterRound);
  });
});

describe('time-boxed commits', () => {
  const boxed = serverTestConfig({ trainTimeBox: 2000, globalBatch: { start: 40, end: 40, warmupTokens: 0 } });

  async function boxedRound(over = boxed) {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config: over });
    cleanups.push(() => server.stop());
    return { server, ...(await twoMembersInRound(server, clock, over, connect)) };
  }

  it('takes an update of fewer sequences than assigned, in the units of the assignment, and records the count', async () => {
    const { server, a, round } = await boxedRound();
    const slot = round.slots.indexOf(a.id);
    const { start, count } = round.assignments[slot];
    expect(count).toBe(20);
    const unitSize = unitSizeFor(count);
    const payload = encodedTestUpdate(boxed, round.step, 3, { start, count: 7, unitSize });
    const hash = a.commitAndUpload(boxed.runId, round.step, payload, undefined, 7);
    expect(await a.next('ack', (m) => m.of === 'commit')).toMatchObject({ hash });
    expect(server.coordinator.state.round!.trained[slot]).toBe(7);
  });

  it('refuses a count beyond the assignment, a payload of another count than its commit, and units other than the assignment’s', async () => {
    const { server, a, round } = await boxedRound();
    const slot = round.slots.indexOf(a.id);
    const { start, count } = round.assignments[slot];
    const before = snapshot(server);
    a.commitAndUpload(boxed.runId, round.step, encodedTestUpdate(boxed, round.step, 3, { start, count: count + 1, unitSize: unitSizeFor(count) }), undefined, count + 1);
    expect((await a.next('error')).code).toBe('bad-message');
    await a.next('error'); // the relayPut of a commit that was refused
    a.commitAndUpload(boxed.runId, round.step, encodedTestUpdate(boxed, round.step, 4, { start, count: 6, unitSize: unitSizeFor(count) }), undefined, 7);
    expect((await a.next('error')).message).toMatch(/the commit says/);
    // Units of one sequence: eight proofs of a 7-sequence update, each a cheaper check than the assignment's units allow.
    a.commitAndUpload(boxed.runId, round.step, encodedTestUpdate(boxed, round.step, 5, { start, count: 7, unitSize: 1 }), undefined, 7);
    expect((await a.next('error')).message).toMatch(/units of 1 sequences/);
    expect(server.coordinator.state.round!.commitments[slot]).toBeNull();
    expect(snapshot(server)).toBe(before);
  });

  it('without a time box, a commit of fewer sequences than assigned is refused', async () => {
    const strict = serverTestConfig({ globalBatch: { start: 40, end: 40, warmupTokens: 0 } });
    const { a, round } = await boxedRound(strict);
    const { start, count } = round.assignments[round.slots.indexOf(a.id)];
    a.commitAndUpload(strict.runId, round.step, encodedTestUpdate(strict, round.step, 3, { start, count: 7, unitSize: unitSizeFor(count) }), undefined, 7);
    expect((await a.next('error')).message).toMatch(/without a time box/);
  });
});

describe('round messages that must not count', () => {
  it('a client cannot claim a peer’s payload by signing its hash, nor upload bytes that do not decode', async () => {
    const { server, clock } = await setup();
    const { a, b, round } = await inRound(server, clock);
    const slotA = round.slots.indexOf(a.id);
    const payload = encodedTestUpdate(config, round.step, 7, round.assignments[slotA]);
    const hash = a.commitAndUpload(config.runId, round.step, payload);
    await a.next('ack', (m) => m.of === 'commit');

    // b signs a's hash: no shortcut through the stored payload, and a's bytes fail b's own assignment.
    const sig = signCommitment(hexToBytes(hash), b.keys.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    b.sendJson({ type: 'commit', step: round.step, hash, signature: bytesToHex(sig) });
    b.ws.send(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash }, payload));
    expect((await b.next('error')).code).toBe('bad-payload');
    // Bytes of the right hash that are not an update at all.
    const junk = new Uint8Array(64).fill(3);
    const junkHash = bytesToHex(sha256(junk));
    const junkSig = signCommitment(hexToBytes(junkHash), b.keys.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    b.sendJson({ type: 'commit', step: round.step, hash: junkHash, signature: bytesToHex(junkSig) });
    b.ws.send(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash: junkHash }, junk));
    const err = await b.next('error');
    expect(err.code).toBe('bad-payload');
    expect(err.message).toMatch(/does not decode/);
    expect(server.coordinator.state.round!.commitments[round.slots.indexOf(b.id)]).toBeNull();
    expect(server.store.payloadOrigin(junkHash)).toBeNull();
  });

  it('refuses witness reports with a forged signature or a bitmap of the wrong size', async () => {
    const { server, clock } = await setup();
    const { a, b, round } = await inRound(server, clock);
    clock.advance(config.maxRoundTrainTime);
    server.coordinator.tick();
    await a.next('phase', (m) => m.to === 'RoundWitness');
    const before = snapshot(server);
    a.sendJson({ type: 'witness', step: round.step, held: '03', checksum: '0123456789abcdef', scores: [], signature: 'ab'.repeat(64) });
    expect((await a.next('error')).code).toBe('bad-signature');
    a.witness(config.runId, round.step, '0300', '0123456789abcdef');
    expect((await a.next('error')).code).toBe('bad-message');
    expect(snapshot(server)).toBe(before);
    b.witness(config.runId, round.step, '00', '0123456789abcdef');
    await b.next('ack', (m) => m.of === 'witness');
    expect(server.coordinator.state.round!.witnesses[round.slots.indexOf(b.id)]).toEqual({ held: '00', checksum: '0123456789abcdef', scores: [] });
  });

  it('a member whose socket closes leaves the run', async () => {
    const { server, clock } = await setup();
    const { a, b } = await inRound(server, clock);
    await a.close();
    await b.next('state', (m) => m.state.clients[a.id].status === 'gone');
    expect(server.coordinator.state.clients[a.id].status).toBe('gone');
    expect(server.coordinator.state.clients[b.id].status).toBe('member');
  });
});

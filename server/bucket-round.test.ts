/**
 * Whole rounds through a coordinator whose payloads live in an S3-compatible
 * bucket (s3rver on loopback): clients commit, PUT to the presigned URL,
 * read each other's payloads with presigned GETs, witness, and agree, and
 * no payload byte crosses the coordinator except its own reads of uploads.
 */
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBinaryFrame } from '../src/net/messages';
import { updateUrlsSchema } from '../src/net/update-urls';
import { encodeBitmap } from '../src/run/bitmap';
import type { RunConfigInput } from '../src/run/run-config';
import { commitToBucket, readFromBucket } from './bucket-test-client';
import { bucketPayloadStore } from './bucket-store';
import { TestClient } from './test-client';
import { startTestBucket } from './test-bucket';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { FakeClock, startTestServer, tempDir } from './test-server';

const CHECKSUM = '0123456789abcdef';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(verification: NonNullable<RunConfigInput['verification']>) {
  const bucket = await startTestBucket();
  cleanups.push(() => bucket.stop());
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const clock = new FakeClock();
  const config = serverTestConfig({ initMinClients: 3, globalBatch: { start: 6, end: 6, warmupTokens: 0 }, verification });
  const store = bucketPayloadStore(bucket.options);
  const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config, payloadStore: store });
  cleanups.push(() => server.stop());
  const clients: TestClient[] = [];
  for (const seed of [1, 2, 3]) {
    const c = await TestClient.connect(server.wsUrl, seed);
    cleanups.push(() => c.close());
    expect((await c.auth()).payloadStore).toBe('bucket');
    c.sendJson({ type: 'join' });
    clients.push(c);
  }
  await clients[2].next('phase', (m) => m.to === 'Warmup');
  clock.advance(config.warmupTime);
  server.coordinator.tick();
  return { config, server, clients, store };
}

describe('a run with its payloads in a bucket', () => {
  it('rounds agree with every payload uploaded to and read from the bucket, none relayed by the coordinator', async () => {
    const { config, server, clients } = await setUp({ probationRounds: 0, vestingRounds: 0, sampleRate: 0 });
    let uploaded = 0;
    for (let r = 0; r < 2; r++) {
      const round = (await clients[0].next('round')).round;
      const hashes: string[] = [];
      const payloads: Uint8Array[] = [];
      for (const c of clients) {
        const slot = round.slots.indexOf(c.id);
        payloads[slot] = encodedTestUpdate(config, round.step, 100 * r + slot + 1, round.assignments[slot]);
        hashes[slot] = await commitToBucket(c, config.runId, round.step, payloads[slot]);
        uploaded += payloads[slot].length;
      }
      await clients[0].next('phase', (m) => m.to === 'RoundWitness' && m.step === round.step);
      for (const c of clients) {
        const mine = round.slots.indexOf(c.id);
        const held = await Promise.all(hashes.map(async (h, slot) => slot === mine || (await readFromBucket(c, h)) !== null));
        expect(held).toEqual([true, true, true]);
        c.witness(config.runId, round.step, encodeBitmap(held), CHECKSUM);
        await c.next('ack', (m) => m.of === 'witness');
      }
      const agreed = await clients[0].next('agreed', (m) => m.step === round.step);
      expect(agreed.hashes).toEqual(hashes);
      expect(agreed.excluded).toEqual([]);
    }
    // A joiner's catch-up reads the same payloads through URLs, not through the coordinator.
    const res = await fetch(`${server.url}/api/updates/urls?fromStep=0`);
    const index = updateUrlsSchema.parse(await res.json());
    expect(index.rounds.map((r) => r.step)).toEqual([0, 1]);
    for (const round of index.rounds) {
      for (const [i, url] of round.urls.entries()) {
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        expect(bytesToHex(sha256(bytes))).toBe(round.hashes[i]);
      }
    }
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { payloads: Record<string, unknown> };
    expect(status.payloads).toEqual({
      store: 'bucket',
      relayBytesIn: 0,
      relayBytesOut: 0,
      // The coordinator's one read of each upload, for its own checks.
      bucketBytesRead: uploaded,
      uploadUrls: 6,
      // 3 clients × 2 others × 2 rounds, then the 6 agreed payloads of the catch-up index.
      downloadUrls: 12 + 6,
    });
  });

  it('refuses the relay’s messages, a payloadGet for a hash it does not hold, and an `uploaded` before the PUT', async () => {
    const { config, server, clients } = await setUp({ probationRounds: 0, vestingRounds: 0, sampleRate: 0 });
    const [a] = clients;
    const round = (await a.next('round')).round;
    const slot = round.slots.indexOf(a.id);
    const payload = encodedTestUpdate(config, round.step, 7, round.assignments[slot]);
    const hash = bytesToHex(sha256(payload));
    a.sendJson({ type: 'relayGet', hash });
    expect((await a.next('error')).code).toBe('wrong-store');
    a.sendJson({ type: 'payloadGet', hash });
    expect((await a.next('error')).code).toBe('not-found');
    a.sendJson({ type: 'uploaded', step: round.step, hash });
    expect((await a.next('error')).code).toBe('no-commitment');
    a.ws.send(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash }, payload));
    expect((await a.next('error')).code).toBe('wrong-store');
    expect(server.payloads.traffic.relayBytesIn).toBe(payload.length); // it did arrive, and is counted, though refused
    expect(server.coordinator.state.round?.commitments[slot]).toBeNull();
  });

  it('an object overwritten after its check is rejected by every reader; they witness without it and the round ends with that update excluded', async () => {
    // Probation: every update needs a verifier's score, and a verifier scores only what it holds.
    const { config, server, clients, store } = await setUp({ probationRounds: 1, vestingRounds: 0 });
    const [a, b, c] = clients;
    const round = (await a.next('round')).round;
    expect(round.slots).toHaveLength(3);
    const hashes: string[] = [];
    for (const x of clients) {
      const slot = round.slots.indexOf(x.id);
      hashes[slot] = await commitToBucket(x, config.runId, round.step, encodedTestUpdate(config, round.step, slot + 1, round.assignments[slot]));
    }
    const aSlot = round.slots.indexOf(a.id);
    // The coordinator checked and kept a's bytes; now someone with write access to the bucket replaces them.
    await store.put(hashes[aSlot], encodedTestUpdate(config, round.step, 99, round.assignments[aSlot]), { step: round.step, clientId: a.id, at: 0 });
    await a.next('phase', (m) => m.to === 'RoundWitness');
    const drawn = server.coordinator.state.round!;
    expect(drawn.checks!.find((k) => k.slot === aSlot)?.verifiers.sort()).toEqual([b.id, c.id].sort());
    for (const x of clients) {
      const mine = round.slots.indexOf(x.id);
      const held = await Promise.all(hashes.map(async (h, slot) => slot === mine || (await readFromBucket(x, h)) !== null));
      // a holds its own; b and c reject the bucket's bytes for a's slot by hash and hold the rest.
      expect(held).toEqual(round.slots.map((_, slot) => x === a || slot !== aSlot));
      const scores = drawn.checks!.filter((k) => k.verifiers.includes(x.id) && held[k.slot]).map((k) => ({ slot: k.slot, score: 700 }));
      x.witness(config.runId, round.step, encodeBitmap(held), CHECKSUM, scores);
      await x.next('ack', (m) => m.of === 'witness');
    }
    const agreed = await a.next('agreed', (m) => m.step === round.step);
    expect(agreed.clients.sort()).toEqual([b.id, c.id].sort());
    expect(agreed.excluded.map((x) => x.clientId)).toEqual([a.id]);
    expect(server.payloads.traffic.relayBytesOut).toBe(0);
    // The coordinator's own copy is still the committed bytes: the overwrite reached no check or checkpoint.
    expect(bytesToHex(sha256(server.store.getPayload(hashes[aSlot])!))).toBe(hashes[aSlot]);
  });
});

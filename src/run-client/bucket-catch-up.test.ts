/**
 * A joiner's agreed updates from a coordinator with a payload bucket: read
 * from the bucket, and from the coordinator's own copy only when the
 * bucket's object fails its hash.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commitToBucket } from '../../server/bucket-test-client';
import { bucketPayloadStore } from '../../server/bucket-store';
import { TestClient } from '../../server/test-client';
import { startTestBucket } from '../../server/test-bucket';
import { encodedTestUpdate, serverTestConfig } from '../../server/test-helpers';
import { FakeClock, startTestServer, tempDir, twoMembersInRound, type TestServer } from '../../server/test-server';
import { encodeBitmap } from '../run/bitmap';
import { agreedFromBucket } from './bucket-catch-up';
import { httpCatchUp } from './catch-up';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

async function connect(server: TestServer, seed: number): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl, seed);
  cleanups.push(() => c.close());
  return c;
}

describe('catch-up from a payload bucket', () => {
  it('reads agreed payloads from the bucket, and the coordinator’s copy of a round whose object was tampered with', async () => {
    const bucket = await startTestBucket();
    cleanups.push(() => bucket.stop());
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const config = serverTestConfig();
    const store = bucketPayloadStore(bucket.options);
    const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config, payloadStore: store });
    cleanups.push(() => server.stop());
    const { a, b, round } = await twoMembersInRound(server, clock, config, connect);
    const payloads = [a, b].map((c) => encodedTestUpdate(config, round.step, round.slots.indexOf(c.id) + 1, round.assignments[round.slots.indexOf(c.id)]));
    const hashes = await Promise.all([a, b].map((c, i) => commitToBucket(c, config.runId, round.step, payloads[i])));
    await a.next('phase', (m) => m.to === 'RoundWitness');
    for (const c of [a, b]) c.witness(config.runId, round.step, encodeBitmap([true, true]), '0123456789abcdef');
    await a.next('agreed');

    const bySlot = (rounds: { hashes: string[]; payloads: Uint8Array[] }[]) => new Map(rounds[0].hashes.map((h, i) => [h, rounds[0].payloads[i]]));
    const fromBucket = await httpCatchUp(server.url).agreedSince(0);
    expect(fromBucket.toStep).toBe(1);
    expect(bySlot(fromBucket.rounds)).toEqual(new Map(hashes.map((h, i) => [h, payloads[i]])));
    expect(server.payloads.traffic.relayBytesOut).toBe(0);

    await store.put(hashes[0], payloads[1], { step: 0, clientId: a.id, at: 0 });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await agreedFromBucket(server.url, 0)).toBeNull();
    const fallback = await httpCatchUp(server.url).agreedSince(0);
    expect(bySlot(fallback.rounds)).toEqual(new Map(hashes.map((h, i) => [h, payloads[i]])));
    // Only then do payload bytes leave the coordinator: the round's bundle.
    expect(server.payloads.traffic.relayBytesOut).toBe(payloads[0].length + payloads[1].length);
  });

  it('a relay coordinator answers no-bucket, and catch-up reads its bundle', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock: new FakeClock(), config: serverTestConfig() });
    cleanups.push(() => server.stop());
    expect(await agreedFromBucket(server.url, 0)).toBe('no-bucket');
    expect(await httpCatchUp(server.url).agreedSince(0)).toEqual({ toStep: 0, rounds: [] });
  });
});

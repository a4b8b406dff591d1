/** The relay's payload counters: every byte that crosses the coordinator, in and out. */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './test-client';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { FakeClock, startTestServer, tempDir, twoMembersInRound, type TestServer } from './test-server';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connect(server: TestServer, seed: number): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl, seed);
  cleanups.push(() => c.close());
  return c;
}

describe('the relay payload store', () => {
  it('counts relayPut bytes in and relayData bytes out, and signs no URLs', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const config = serverTestConfig();
    const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config });
    cleanups.push(() => server.stop());
    const { a, b, round } = await twoMembersInRound(server, clock, config, connect);
    // A relay's welcome is what it always was: no payloadStore field.
    expect(Object.keys(await (await connect(server, 9)).auth())).toEqual(['type', 'clientId', 'config', 'state']);
    const slot = round.slots.indexOf(a.id);
    const payload = encodedTestUpdate(config, round.step, 3, round.assignments[slot]);
    const hash = a.commitAndUpload(config.runId, round.step, payload);
    await a.next('ack', (m) => m.of === 'commit');
    b.sendJson({ type: 'relayGet', hash });
    expect((await b.nextBinary()).payload).toEqual(payload);
    b.sendJson({ type: 'payloadGet', hash });
    expect((await b.next('error')).code).toBe('wrong-store');
    expect(server.payloads.traffic).toEqual({ relayBytesIn: payload.length, relayBytesOut: payload.length, bucketBytesRead: 0, uploadUrls: 0, downloadUrls: 0 });
  });
});

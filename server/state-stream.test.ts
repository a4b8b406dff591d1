/**
 * The state stream end to end: 200 protocol clients join a real coordinator over real sockets, a round starts, some
 * members commit, commits close, one leaves. Every frame any client receives stays within the tab's text-frame
 * limit (the late joiners' whole state included), and every client's copy, kept from diffs alone, equals the
 * coordinator's state; one that loses a diff asks for the whole state and catches up.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_TEXT_FRAME_BYTES } from '../src/net/messages';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { TestClient } from './test-client';
import { FakeClock, startTestServer, tempDir } from './test-server';

const N = 200;
const config = serverTestConfig({ initMinClients: N, globalBatch: { start: N, end: N, warmupTokens: 0 } });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('state stream', () => {
  it(`${N} clients: every frame under the limit, every copy equal to the coordinator's`, { timeout: 120_000 }, async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config });
    cleanups.push(() => server.stop());
    const { coordinator } = server;
    const clients: TestClient[] = [];
    for (let i = 0; i < N; i++) {
      const c = await TestClient.connect(server.wsUrl, i + 1);
      cleanups.push(() => c.close());
      await c.auth();
      c.sendJson({ type: 'join' });
      await c.next('ack');
      clients.push(c);
    }
    const inSync = () => clients.every((c) => c.closed !== null || c.states.version === coordinator.stateVersion);
    await until(inSync, 'every client at the latest version after the joins');

    clock.advance(config.warmupTime);
    coordinator.tick();
    const round = coordinator.state.round!;
    expect(round.slots).toHaveLength(N);
    // What a joiner or a stateGet now gets: a whole state too large for one frame, in parts.
    expect(JSON.stringify(coordinator.state).length).toBeGreaterThan(MAX_TEXT_FRAME_BYTES);
    expect(coordinator.stateFrames().length).toBeGreaterThan(1);
    await until(inSync, 'every client holding the new round');
    // Loses the first commit's diff: the second one does not follow the version it holds.
    const lossy = clients[7];
    lossy.dropDeltas = 1;
    const watcher = clients[100];
    const bytesBefore = watcher.textBytes;
    for (const c of clients.slice(0, 20)) {
      const slot = round.slots.indexOf(c.id);
      c.commitAndUpload(config.runId, round.step, encodedTestUpdate(config, round.step, slot, round.assignments[slot]));
      await c.next('ack', (m) => m.of === 'commit');
    }
    await until(inSync, 'every client holding the commits');
    // A commit reaches the others as its slot, not as the state (about 90 KB here).
    expect((watcher.textBytes - bytesBefore) / 20).toBeLessThan(400);
    clock.advance(config.maxRoundTrainTime);
    coordinator.tick(); // commits close and the checks are drawn
    expect(coordinator.state.phase).toBe('RoundWitness');
    await clients[N - 1].close();
    await until(() => coordinator.state.clients[clients[N - 1].id].status === 'gone', 'the leave');
    await until(inSync, 'every client at the latest version');

    for (const c of clients.slice(0, N - 1)) {
      expect(c.largestTextFrame).toBeLessThanOrEqual(MAX_TEXT_FRAME_BYTES);
      expect(c.states.state).toEqual(coordinator.state);
    }
    expect(lossy.states.requests).toBe(1);
    expect(clients.filter((c) => c !== lossy).every((c) => c.states.requests === 0)).toBe(true);
  });
});

/**
 * Simulated clients against an in-process coordinator (server/test-server.ts,
 * the real socket server, round gate and state machine with a fake clock):
 * they authenticate, join, commit and upload, fetch each other's payloads
 * through the relay, and witness with the bitmap of exactly what they hold.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, startTestServer, tempDir, type TestServer } from '../server/test-server';
import { encodeBinaryFrame, MAX_TEXT_FRAME_BYTES, type ServerMessageOf } from '../src/net/messages';
import { messageFrames } from '../src/net/message-parts';
import { decodeBitmap } from '../src/run/bitmap';
import { parseRunConfig } from '../src/run/run-config';
import { createRunState } from '../src/run/state-machine';
import { simulationConfig } from './bench';
import { addTraffic, emptyTraffic, MessageCache, SimClient, type SimWorld } from './sim-client';
import { buildUpdate, updatePlan } from './update-builder';

const RUN_ID = 'fedcba9876543210fedcba9876543210';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function world(url: string, config: ReturnType<typeof parseRunConfig>, agreed: ServerMessageOf<'agreed'>[], problems: string[]): SimWorld {
  const plan = updatePlan(config);
  let seed = 1;
  return {
    url,
    cache: new MessageCache(),
    update: (_sim, head) => buildUpdate(plan, head, seed++),
    checksum: '0123456789abcdef',
    score: 700,
    relayTimeoutMs: 5000,
    observe: {
      phase() {},
      agreed(sim, msg) {
        if (sim.index === 0) agreed.push(msg);
      },
      problem(sim, what) {
        problems.push(`${sim.index}: ${what}`);
      },
    },
  };
}

describe('SimClient', () => {
  it('runs honest rounds against the real socket server: every update agreed, witnesses hold every payload', async () => {
    const clients = 4;
    const config = parseRunConfig(simulationConfig({ payload: 'tinyDemo', clients, seqsPerClient: 2, trainTimeoutMs: 30_000, witnessTimeoutMs: 30_000 }, RUN_ID));
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const clock = new FakeClock();
    const server: TestServer = await startTestServer({ dbPath: join(dir, 'run.sqlite'), config, clock });
    cleanups.push(() => server.stop());
    const agreed: ServerMessageOf<'agreed'>[] = [];
    const problems: string[] = [];
    const w = world(server.wsUrl, config, agreed, problems);
    const sims = Array.from({ length: clients }, (_, i) => new SimClient(i, w));
    cleanups.push(() => sims.forEach((s) => s.terminate()));
    await Promise.all(sims.map((s) => s.connect()));
    await until(() => Object.keys(server.coordinator.state.clients).length === clients, 'joins');
    clock.advance(config.warmupTime);
    server.coordinator.tick();
    await until(() => agreed.length >= 5, 'five agreed rounds');

    expect(problems).toEqual([]);
    for (const a of agreed) expect(a.slots.length, `round ${a.step}: ${JSON.stringify(a.excluded)}`).toBe(clients);
    // The first three rounds are probation: every update checked, and the sims' passing scores let all through.
    expect(Object.values(server.coordinator.state.clients).every((c) => c.verifiedRounds >= 3)).toBe(true);
    for (const s of sims) {
      for (const a of agreed) {
        const log = s.rounds.get(a.step)!;
        expect(log.heldHex).not.toBeNull();
        // Every committed payload fetched and hash-checked, so every bit set.
        expect(decodeBitmap(log.heldHex!, clients).every(Boolean)).toBe(true);
        expect(log.heldCount).toBe(clients);
        expect(log.fetched).toBe(clients - 1);
        expect(log.relayTimedOut).toBe(false);
      }
    }
    // Counted per round on its own socket: one commit + one witness + relayGets out, one relayPut; N − 1 payloads in.
    const t = sims[1].traffic.get(agreed[2].step)!;
    expect(t.binOut).toBe(1);
    expect(t.binIn).toBe(clients - 1);
    expect(t.textOut).toBe(2 + (clients - 1));
    expect(t.inByType.relayData.n).toBe(clients - 1);
    // A diff per commit and per witness, none of them lost, and every sim's copy the coordinator's.
    expect(t.inByType.stateDelta.n).toBeGreaterThan(clients);
    expect(t.inByType.part).toBeUndefined();
    // Stop training, so the run comes to rest in a round no one commits to (the fake clock never times it out);
    // while it went on, a diff was nearly always in flight and the versions rarely met at a poll.
    w.lastStep = server.coordinator.state.round?.step ?? agreed[agreed.length - 1].step + 1;
    for (const s of sims) {
      expect(s.states.requests).toBe(0);
      await until(() => s.states.version === server.coordinator.stateVersion, 'the latest diff');
      expect(s.states.state).toEqual(server.coordinator.state);
    }
  });

  it('counts a relayed payload as held only when it hashes to its commitment', () => {
    const problems: string[] = [];
    const w = world('ws://unused', parseRunConfig(simulationConfig({ payload: 'tinyDemo', clients: 2, seqsPerClient: 1, trainTimeoutMs: 1000, witnessTimeoutMs: 1000 }, RUN_ID)), [], problems);
    const sim = new SimClient(0, w);
    const payload = new Uint8Array([1, 2, 3, 4]);
    const hash = createHash('sha256').update(payload).digest('hex');
    const wrong = createHash('sha256').update(new Uint8Array([9])).digest('hex');
    sim.onFrame(Buffer.from(encodeBinaryFrame({ type: 'relayData', hash: wrong }, payload)), true);
    expect(sim.held.has(wrong)).toBe(false);
    expect(problems).toHaveLength(1);
    sim.onFrame(Buffer.from(encodeBinaryFrame({ type: 'relayData', hash }, payload)), true);
    expect(sim.held.has(hash)).toBe(true);
    const t = sim.traffic.get(-1)!;
    expect([t.binIn, t.binInBytes]).toEqual([2, 2 * (4 + 4 + JSON.stringify({ type: 'relayData', hash }).length)]);
  });
});

describe('SimClient witness', () => {
  it('reports exactly the payloads it holds, and scores only drawn checks whose payload it holds', async () => {
    const config = parseRunConfig(simulationConfig({ payload: 'tinyDemo', clients: 3, seqsPerClient: 1, trainTimeoutMs: 1000, witnessTimeoutMs: 1000 }, RUN_ID));
    const problems: string[] = [];
    const w = { ...world('ws://unused', config, [], problems), relayTimeoutMs: 30 };
    const sim = new SimClient(0, w);
    const others = [new SimClient(1, w).id, new SimClient(2, w).id];
    const slots = [others[0], sim.id, others[1]];
    const payloads = [0, 1, 2].map((i) => new Uint8Array([i, i, i]));
    const hashes = payloads.map((p) => createHash('sha256').update(p).digest('hex'));
    const state = createRunState(config, 1000);
    for (const [i, id] of slots.entries()) {
      state.clients[id] = { id, status: 'member', joinSeq: i, missedRounds: 0, points: 0, agreedUpdates: 0, verifiedRounds: 0, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace: null };
    }
    state.phase = 'RoundWitness';
    state.round = {
      step: 0,
      seed: '0'.repeat(64),
      slots,
      assignments: slots.map((_, i) => ({ start: i, count: 1 })),
      lrBits: 0,
      commitments: hashes,
      trained: hashes.map(() => 1),
      witnesses: slots.map(() => null),
      copies: slots.map(() => null),
      overlaps: slots.map(() => null),
      // Drawn to verify slot 0 (whose payload it will hold) and slot 2 (whose payload never comes).
      checks: [
        { slot: 0, verifiers: [sim.id], units: [0] },
        { slot: 2, verifiers: [sim.id], units: [0] },
      ],
      startedAt: 1000,
      base: 0,
      closedAt: null,
    };
    sim.held.set(hashes[1], 0); // its own update
    sim.onFrame(Buffer.from(JSON.stringify({ type: 'welcome', clientId: sim.id, config })), false);
    for (const f of messageFrames(JSON.stringify({ type: 'state', serverEpoch: '00'.repeat(8), version: 0, state }))) sim.onFrame(Buffer.from(f), false);
    sim.onFrame(Buffer.from(encodeBinaryFrame({ type: 'relayData', hash: hashes[0] }, payloads[0])), true);
    expect(sim.rounds.get(0)?.witnessedAt ?? null).toBeNull(); // still missing slot 2's payload
    await until(() => sim.rounds.get(0)?.witnessedAt != null, 'the witness at the relay timeout', 2000);
    const log = sim.rounds.get(0)!;
    expect(log.relayTimedOut).toBe(true);
    expect(decodeBitmap(log.heldHex!, 3)).toEqual([true, true, false]);
    expect(log.heldHex).toBe('03');
    expect(log.scores).toBe(1);
  });
});

describe('MessageCache', () => {
  it('reuses the parse of byte-equal frames and counts frames a real client would refuse as too large', () => {
    const cache = new MessageCache();
    const msg = { type: 'phase', from: 'RoundTrain', to: 'RoundWitness', step: 3, epoch: 0 };
    const a = cache.get(Buffer.from(JSON.stringify(msg)));
    const b = cache.get(Buffer.from(JSON.stringify(msg)));
    expect(a).toEqual(msg);
    expect(b).toBe(a);
    expect([cache.parses, cache.hits]).toEqual([1, 1]);
    const other = cache.get(Buffer.from(JSON.stringify({ ...msg, step: 4 })));
    expect(other).toEqual({ ...msg, step: 4 });
    expect(cache.get(Buffer.from('{"type":"nope"}'))).toBeInstanceOf(Error);
    expect(cache.get(Buffer.from([0x7b, 0xff, 0x7d]))).toBeInstanceOf(Error); // not UTF-8
    const big = { type: 'error', code: 'internal', message: 'x'.repeat(2000) };
    const padded = JSON.stringify(big) + ' '.repeat(MAX_TEXT_FRAME_BYTES);
    expect(cache.get(Buffer.from(padded))).toEqual(big);
    expect(cache.oversize).toBe(1);
  });

  it('adds traffic', () => {
    const a = emptyTraffic();
    a.textIn = 2;
    a.inByType.state = { n: 2, bytes: 10 };
    const total = addTraffic(addTraffic(emptyTraffic(), a), a);
    expect(total.textIn).toBe(4);
    expect(total.inByType.state).toEqual({ n: 4, bytes: 20 });
  });
});

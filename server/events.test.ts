import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { historyResponseSchema, LIVE_EVENTS, parseLiveEvent } from '../src/net/history';
import type { HttpError } from './api';
import { EventHub, formatEvent } from './events';
import { memoryLogger } from './log';
import { serverTestConfig } from './test-helpers';
import { TestClient } from './test-client';
import { playRoundWithStats, SseReader } from './test-events';
import { FakeClock, startTestServer, tempDir, twoMembersInRound, type TestServer } from './test-server';
import type { EventHubLimits } from './events';

const config = serverTestConfig();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const clock = new FakeClock();

async function start(eventLimits: Partial<EventHubLimits> = {}): Promise<TestServer> {
  const { dir, cleanup } = tempDir();
  const server = await startTestServer({ dbPath: join(dir, 'run.sqlite'), clock, config, eventLimits });
  let stopped = false;
  const stop = server.stop;
  server.stop = async () => {
    if (stopped) return;
    stopped = true;
    await stop();
  };
  cleanups.push(cleanup, () => server.stop());
  return server;
}

async function open(server: TestServer): Promise<SseReader> {
  const r = await SseReader.open(server.url);
  cleanups.push(() => r.close());
  return r;
}

const connect = async (server: TestServer, seed: number) => {
  const c = await TestClient.connect(server.wsUrl, seed);
  cleanups.push(() => c.close());
  return c;
};

async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GET /api/events', () => {
  it('delivers each stored round to every open stream, as /api/history has it, with the status and leaderboard that changed', async () => {
    const server = await start();
    const one = await open(server);
    const two = await open(server);
    for (const r of [one, two]) {
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(LIVE_EVENTS.status.parse(await r.next('status'))).toMatchObject({ phase: 'WaitingForMembers', step: 0, members: 0 });
    }
    expect(server.events.size).toBe(2);
    const { a, b, round } = await twoMembersInRound(server, clock, config, connect);
    await playRoundWithStats(config, [a, b], round, [{ loss: 2, trainMs: 5 }, { loss: 3, trainMs: 7 }]);
    const stored = historyResponseSchema.parse(await (await fetch(`${server.url}/api/history`)).json()).rounds[0];
    expect(stored).toMatchObject({ step: 0, loss: 2.5, reporters: 2 });
    for (const r of [one, two]) {
      expect(LIVE_EVENTS.round.parse(await r.next('round'))).toEqual(stored);
      // Status events follow every change (joins, phases); the latest after the round says step 1 and two members.
      await r.until(() => r.pending().includes('leaderboard'), 'the leaderboard');
      const board = LIVE_EVENTS.leaderboard.parse(await r.next('leaderboard'));
      expect(board.clients.map((c) => c.points)).toEqual([config.pointsPerUpdate, config.pointsPerUpdate]);
      let status = LIVE_EVENTS.status.parse(await r.next('status'));
      while (r.pending().includes('status')) status = LIVE_EVENTS.status.parse(await r.next('status'));
      expect(status).toMatchObject({ phase: 'RoundTrain', step: 1, members: 2 });
      expect(r.pending()).not.toContain('round'); // one round, one event
    }
  });

  it('caps the open streams (503 beyond), frees a slot when a stream closes, and sends heartbeats', async () => {
    const server = await start({ maxStreams: 2, heartbeatMs: 20 });
    const one = await open(server);
    await open(server);
    const third = await fetch(`${server.url}/api/events`);
    expect(third.status).toBe(503);
    expect(((await third.json()) as { error: string }).error).toBe('too-many-streams');
    expect(server.events.size).toBe(2);
    one.close();
    await until(() => server.events.size === 1, 'the closed stream is removed');
    const again = await open(server);
    expect(again.res.status).toBe(200);
    await again.until(() => again.comments.includes(': heartbeat'), 'a heartbeat');
    expect(server.events.size).toBe(2);
  });

});

describe('EventHub', () => {
  /** Just enough of a response to hold a stream: it keeps what is written and lets a test say how much is still buffered. */
  function fakeStream() {
    const emitter = new EventEmitter();
    const res = Object.assign(emitter, {
      written: [] as string[],
      writableLength: 0,
      destroyed: false,
      ended: false,
      headers: {} as Record<string, unknown>,
      writeHead(_status: number, headers: Record<string, unknown>) {
        this.headers = headers;
        return this;
      },
      setHeader() {},
      write(chunk: string) {
        this.written.push(chunk);
        return true;
      },
      end() {
        this.ended = true;
      },
      destroy() {
        this.destroyed = true;
        emitter.emit('close');
      },
    });
    const req = Object.assign(new EventEmitter(), { socket: { setNoDelay() {} } });
    return { res, req, asRes: res as unknown as ServerResponse, asReq: req as unknown as IncomingMessage };
  }

  const status = { phase: 'RoundTrain' as const, epoch: 0, step: 3, members: 2, joining: 0, tokensSeen: 10 };

  it('cuts off a reader that has fallen behind by more than its buffer bound, and keeps serving the others', () => {
    const log = memoryLogger();
    const hub = new EventHub(log, { maxBufferedBytes: 1000 });
    cleanups.push(() => hub.close());
    const slow = fakeStream();
    const fast = fakeStream();
    hub.open(slow.asReq, slow.asRes, false);
    hub.open(fast.asReq, fast.asRes, false);
    expect(hub.size).toBe(2);
    slow.res.writableLength = 990;
    hub.broadcast({ event: 'status', data: status });
    expect(slow.res.destroyed).toBe(true);
    expect(hub.size).toBe(1);
    expect(fast.res.written.at(-1)).toBe(formatEvent({ event: 'status', data: status }));
    expect(slow.res.written.some((w) => w.includes('RoundTrain'))).toBe(false);
    expect(log.records.some((r) => r.event === 'events-stream-dropped')).toBe(true);
  });

  it('writes events in the SSE format the page parses back', () => {
    const text = formatEvent({ event: 'status', data: status });
    expect(text).toMatch(/^event: status\ndata: \{.*\}\n\n$/);
    expect(parseLiveEvent('status', text.split('\n')[1].slice('data: '.length))).toEqual(status);
    expect(() => parseLiveEvent('status', JSON.stringify({ ...status, members: -1 }))).toThrow(/invalid status event/);
    expect(() => parseLiveEvent('round', '{')).toThrow(/not JSON/);
  });

  it('close ends the open streams, so that http.Server.close (which waits for open responses) can finish, and refuses new ones', async () => {
    const hub = new EventHub();
    const server = createServer((req, res) => {
      try {
        hub.open(req, res, false, [{ event: 'status', data: status }]);
      } catch (e) {
        res.writeHead((e as HttpError).status).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await SseReader.open(url);
    cleanups.push(() => r.close());
    expect(await r.next('status')).toEqual(status);
    hub.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await r.until(() => r.done, 'the end of the stream').catch((e: Error) => {
      if (!/ended/.test(e.message)) throw e;
    });
    expect(r.done).toBe(true);
    expect(hub.size).toBe(0);
    const late = fakeStream();
    expect(() => hub.open(late.asReq, late.asRes, false)).toThrow(/shutting down/);
  });

  it('a HEAD request gets the headers and no stream', () => {
    const hub = new EventHub();
    const s = fakeStream();
    hub.open(s.asReq, s.asRes, true);
    expect(s.res.ended).toBe(true);
    expect(s.res.headers['Content-Type']).toMatch(/text\/event-stream/);
    expect(hub.size).toBe(0);
  });
});

/**
 * A joiner's checkpoint download through a connection that drops: the first
 * response is cut off mid-body by a proxy in front of a real coordinator,
 * and httpCatchUp resumes with Range/If-Range from the bytes it has and
 * yields exactly the stored checkpoint (gzip on the wire, gunzipped by
 * DecompressionStream).
 */
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverTestConfig } from '../../server/test-helpers';
import { FakeClock, startTestServer, tempDir, type TestServer } from '../../server/test-server';
import { httpCatchUp } from './catch-up';

interface Seen {
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
  sent: number;
}

/** Forwards to the coordinator; the first `cuts` responses stop after `cutAt` body bytes and the connection is destroyed. */
function cuttingProxy(target: string, cutAt: number, cuts: number): { server: Server; seen: Seen[] } {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
      const entry: Seen = { range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, status: up.statusCode ?? 0, sent: 0 };
      seen.push(entry);
      res.writeHead(up.statusCode ?? 502, up.headers);
      const cut = seen.length <= cuts;
      up.on('data', (chunk: Buffer) => {
        if (!cut) {
          entry.sent += chunk.length;
          res.write(chunk);
          return;
        }
        const room = cutAt - entry.sent;
        if (room <= 0) return;
        entry.sent += Math.min(room, chunk.length);
        if (entry.sent < cutAt) {
          res.write(chunk);
          return;
        }
        up.destroy();
        // Let the client read what was sent before the connection drops: a stream that errors discards what it had queued.
        res.write(chunk.subarray(0, room), () => setTimeout(() => res.destroy(), 50));
      });
      up.on('end', () => res.end());
    });
    req.pipe(upstream);
  });
  return { server, seen };
}

let coordinator: TestServer;
let cleanup: () => void;
const proxies: Server[] = [];

beforeAll(async () => {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  coordinator = await startTestServer({ dbPath: join(tmp.dir, 'run.sqlite'), clock: new FakeClock(), config: serverTestConfig() });
});

afterAll(async () => {
  for (const p of proxies) {
    p.closeAllConnections();
    await new Promise((done) => p.close(done));
  }
  await coordinator.stop();
  cleanup();
});

async function listen(server: Server): Promise<string> {
  proxies.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('httpCatchUp().latestCheckpoint', () => {
  it('resumes a download cut off mid-body and yields the exact checkpoint', async () => {
    const stored = coordinator.store.latestCheckpoint()!;
    const gzSize = Number((await fetch(`${coordinator.url}/api/checkpoint/latest`, { method: 'HEAD', headers: { Accept: 'application/gzip' } })).headers.get('content-length'));
    const cutAt = Math.floor(gzSize / 3);
    const { server, seen } = cuttingProxy(coordinator.url, cutAt, 2);
    const ck = await httpCatchUp(await listen(server)).latestCheckpoint();
    expect(ck).toMatchObject({ epoch: stored.epoch, step: stored.step, checksum: stored.checksum });
    expect(Buffer.from(ck.bytes).equals(Buffer.from(stored.bytes))).toBe(true);
    // Cut twice, after a third of the gzip bytes each time: the whole body, the rest from one third, the rest from two thirds.
    expect(seen.map((s) => [s.status, s.range])).toEqual([
      [200, undefined],
      [206, `bytes=${cutAt}-`],
      [206, `bytes=${2 * cutAt}-`],
    ]);
    expect(seen[1].ifRange).toMatch(/^"[0-9a-f]{32}"$/);
    expect(seen[2].sent).toBe(gzSize - 2 * cutAt);
  });

  it('downloads straight through when nothing drops', async () => {
    const { server, seen } = cuttingProxy(coordinator.url, 0, 0);
    const ck = await httpCatchUp(await listen(server)).latestCheckpoint();
    expect(Buffer.from(ck.bytes).equals(Buffer.from(coordinator.store.latestCheckpoint()!.bytes))).toBe(true);
    expect(seen).toHaveLength(1);
  });
});

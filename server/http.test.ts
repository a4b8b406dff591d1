import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCheckpoint } from '../src/model/checkpoint';
import { paramsChecksum } from './checkpointer';
import { runModel } from './run-model';
import { serverTestConfig } from './test-helpers';
import { FakeClock, startTestServer, tempDir, type TestServer } from './test-server';
import { decodeUpdateBundle } from '../src/net/update-bundle';

const config = serverTestConfig();
const shard = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
let server: TestServer;
let cleanup: () => void;

beforeAll(async () => {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  const dist = join(tmp.dir, 'dist');
  const data = join(tmp.dir, 'data');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  mkdirSync(join(data, 'tiny-set'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Tessera</title>');
  writeFileSync(join(dist, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmp.dir, 'secret.txt'), 'do not serve');
  writeFileSync(join(data, 'tiny-set', 'train.bin'), shard);
  server = await startTestServer({ dbPath: join(tmp.dir, 'run.sqlite'), clock: new FakeClock(), config, distDir: dist, dataDir: data });
});

afterAll(async () => {
  await server.stop();
  cleanup();
});

const get = (path: string, init?: RequestInit) => fetch(server.url + path, init);

async function expectJsonError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await res.json()) as { error: string; message: string };
  expect(body.error).toBe(code);
  expect(body.message.length).toBeGreaterThan(5);
  return body.message;
}

describe('static app', () => {
  it('serves built files, falls back to index.html for routes, and 404s missing assets', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('Tessera');
    expect(await (await get('/assets/app.js')).text()).toBe('console.log(1)');
    const route = await get('/rewards/claim');
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('Tessera');
    await expectJsonError(await get('/assets/missing.js'), 404, 'not-found');
  });

  it('refuses paths that leave the served folders', async () => {
    await expectJsonError(await get('/%2e%2e%2fsecret.txt'), 400, 'bad-path');
    await expectJsonError(await get('/data/tiny-set%2f..%2f..%2fsecret.txt'), 400, 'bad-path');
    await expectJsonError(await get('/data/%E0%A4%A'), 400, 'bad-path');
  });

  it('allows only GET and HEAD', async () => {
    const res = await get('/api/status', { method: 'POST', body: '{}' });
    await expectJsonError(res, 405, 'method-not-allowed');
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('data shards with byte ranges', () => {
  it('serves the whole file, a range (206), a suffix, and HEAD', async () => {
    const full = await get('/data/tiny-set/train.bin');
    expect(full.status).toBe(200);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(shard);
    const part = await get('/data/tiny-set/train.bin', { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(shard.slice(10, 20));
    const tail = await get('/data/tiny-set/train.bin', { headers: { Range: 'bytes=-5' } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(shard.slice(995));
    const head = await get('/data/tiny-set/train.bin', { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('1000');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 416 with the file size for ranges it cannot satisfy', async () => {
    for (const range of ['bytes=1000-', 'bytes=20-10', 'bytes=0-1,5-9', 'pages=1-2']) {
      const res = await get('/data/tiny-set/train.bin', { headers: { Range: range } });
      expect(res.headers.get('content-range')).toBe('bytes */1000');
      await expectJsonError(res, 416, 'range-not-satisfiable');
    }
    await expectJsonError(await get('/data/tiny-set/missing.bin'), 404, 'not-found');
  });
});

describe('data shards for other origins', () => {
  it('lets a page from any origin read shards and their Content-Range, and answers the preflight', async () => {
    const part = await get('/data/tiny-set/train.bin', { headers: { Range: 'bytes=0-3', Origin: 'https://app.example.org' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('access-control-allow-origin')).toBe('*');
    expect(part.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
    const preflight = await get('/data/tiny-set/train.bin', { method: 'OPTIONS', headers: { Origin: 'https://app.example.org', 'Access-Control-Request-Headers': 'range' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Range');
    expect((await get('/api/status')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('API', () => {
  it('GET /api/status gives the phase, epoch, step and clients', async () => {
    expect(await (await get('/api/status')).json()).toEqual({
      state: 'WaitingForMembers',
      epoch: 0,
      step: 0,
      clients: [],
      payloads: { store: 'relay', relayBytesIn: 0, relayBytesOut: 0, bucketBytesRead: 0, uploadUrls: 0, downloadUrls: 0 },
    });
    await expectJsonError(await get('/api/status?verbose=1'), 400, 'bad-query');
  });

  it('GET /api/checkpoint/latest is the epoch-0 checkpoint with its checksum in the headers', async () => {
    const res = await get('/api/checkpoint/latest');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tessera-epoch')).toBe('0');
    expect(res.headers.get('x-tessera-step')).toBe('0');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const { params } = importCheckpoint(bytes);
    expect(res.headers.get('x-tessera-checksum')).toBe(paramsChecksum(runModel(config), params));
  });

  it('GET /api/checkpoint/latest with Accept: application/gzip is the same checkpoint, gzip, with a strong ETag and its size', async () => {
    const raw = new Uint8Array(await (await get('/api/checkpoint/latest')).arrayBuffer());
    const res = await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.headers.get('x-tessera-size')).toBe(String(raw.byteLength));
    expect(res.headers.get('x-tessera-checksum')).toBe(paramsChecksum(runModel(config), importCheckpoint(raw).params));
    const gz = new Uint8Array(await res.arrayBuffer());
    expect(gz.byteLength).toBeLessThan(raw.byteLength);
    expect(new Uint8Array(gunzipSync(gz))).toEqual(raw);
    // Compressed once: the next download is the same representation.
    expect((await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip' } })).headers.get('etag')).toBe(res.headers.get('etag'));
  });

  it('resumes a gzip download with Range under a matching If-Range, and sends it whole when the ETag is stale', async () => {
    const whole = await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip' } });
    const etag = whole.headers.get('etag')!;
    const gz = new Uint8Array(await whole.arrayBuffer());
    const cut = Math.floor(gz.byteLength / 3);
    const rest = await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip', Range: `bytes=${cut}-`, 'If-Range': etag } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${cut}-${gz.byteLength - 1}/${gz.byteLength}`);
    expect(rest.headers.get('x-tessera-epoch')).toBe('0');
    const resumed = new Uint8Array(gz.byteLength);
    resumed.set(gz.subarray(0, cut));
    resumed.set(new Uint8Array(await rest.arrayBuffer()), cut);
    expect(resumed).toEqual(gz);
    for (const stale of ['"00000000000000000000000000000000"', `W/${etag}`, 'Tue, 01 Jan 2030 00:00:00 GMT']) {
      const res = await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip', Range: `bytes=${cut}-`, 'If-Range': stale } });
      expect(res.status, stale).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer()), stale).toEqual(gz);
    }
  });

  it('answers 416 with the gzip size and the reason for a range it cannot satisfy, and logs it', async () => {
    const size = (await (await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip' } })).arrayBuffer()).byteLength;
    const cases: [string, RegExp][] = [
      [`bytes=${size}-`, new RegExp(`range start ${size} is not inside the ${size}-byte file`)],
      ['bytes=20-10', /range end 10 is before its start 20/],
      ['bytes=0-1,5-9', /is not a single "bytes=start-end" range/],
    ];
    for (const [range, reason] of cases) {
      const res = await get('/api/checkpoint/latest', { headers: { Accept: 'application/gzip', Range: range } });
      expect(res.headers.get('content-range'), range).toBe(`bytes */${size}`);
      expect(await expectJsonError(res, 416, 'range-not-satisfiable'), range).toMatch(reason);
    }
    expect(server.log.records.some((e) => e.event === 'http-refused' && e.code === 'range-not-satisfiable')).toBe(true);
  });

  it('GET /api/updates validates fromStep and limit, and answers an empty bundle before any round', async () => {
    const res = await get('/api/updates?fromStep=0&limit=10');
    expect(res.status).toBe(200);
    expect(decodeUpdateBundle(new Uint8Array(await res.arrayBuffer()))).toEqual({ fromStep: 0, toStep: 0, rounds: [] });
    for (const q of ['', '?fromStep=', '?fromStep=abc', '?fromStep=-1', '?fromStep=1.5', '?fromStep=01', '?fromStep=0&limit=0', '?fromStep=0&limit=257', '?fromStep=0&bogus=1', '?fromStep=0&fromStep=1']) {
      const message = await expectJsonError(await get('/api/updates' + q), 400, 'bad-query');
      expect(message).toMatch(/fromStep|limit|bogus|more than once/);
    }
    await expectJsonError(await get('/api/nothing'), 404, 'not-found');
    await expectJsonError(await get('/ws'), 426, 'upgrade-required');
  });
});

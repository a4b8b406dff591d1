/** downloadResumable against a scripted server: resumes, never splices two versions, gives up cleanly. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DownloadError, downloadResumable, gunzip, type FetchFn } from './resumable-download';

/** A body stream that delivers `bytes[0, cut)` and then fails, as a dropped connection does. */
function cutBody(bytes: Uint8Array, cut: number): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(bytes.slice(0, cut));
      } else controller.error(new TypeError('terminated'));
    },
  });
}

interface Version {
  etag: string;
  bytes: Uint8Array;
}

/** Serves the current version with ranges under If-Range; `plan` says, per request, where to cut the body (or not). */
function scripted(current: () => Version, plan: (n: number) => number | null) {
  const requests: { range: string | null; ifRange: string | null }[] = [];
  const fetch: FetchFn = async (_url, init) => {
    const h = new Headers(init?.headers);
    requests.push({ range: h.get('range'), ifRange: h.get('if-range') });
    const v = current();
    const m = /^bytes=(\d+)-$/.exec(h.get('range') ?? '');
    const start = m !== null && h.get('if-range') === v.etag ? Number(m[1]) : 0;
    const body = v.bytes.slice(start);
    const headers = new Headers({ etag: v.etag, 'content-length': String(body.byteLength) });
    if (start > 0) headers.set('content-range', `bytes ${start}-${v.bytes.byteLength - 1}/${v.bytes.byteLength}`);
    const cut = plan(requests.length);
    return new Response(cut === null ? body : cutBody(body, cut), { status: start > 0 ? 206 : 200, headers });
  };
  return { fetch, requests };
}

const bytes = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * k) & 0xff);

describe('downloadResumable', () => {
  it('continues from the bytes it holds after each drop', async () => {
    const v = { etag: '"a"', bytes: bytes(1000, 7) };
    const s = scripted(() => v, (n) => (n <= 3 ? 100 : null));
    const got = await downloadResumable('http://x/ck', { fetch: s.fetch, backoffMs: 0 });
    expect(got.bytes).toEqual(v.bytes);
    expect(s.requests.map((r) => r.range)).toEqual([null, 'bytes=100-', 'bytes=200-', 'bytes=300-']);
    expect(s.requests[1].ifRange).toBe('"a"');
  });

  it('starts over, never splicing, when the resource changed between tries', async () => {
    let v = { etag: '"old"', bytes: bytes(1000, 3) };
    const s = scripted(() => v, (n) => (n === 1 ? 400 : null));
    const fetch: FetchFn = async (url, init) => {
      const res = await s.fetch(url, init);
      v = { etag: '"new"', bytes: bytes(900, 5) };
      return res;
    };
    const got = await downloadResumable('http://x/ck', { fetch, backoffMs: 0 });
    expect(got.bytes).toEqual(bytes(900, 5));
    expect(got.headers.get('etag')).toBe('"new"');
    expect(s.requests[1]).toEqual({ range: 'bytes=400-', ifRange: '"old"' });
  });

  it('gives up after tries that bring nothing, and at once on a client error', async () => {
    const s = scripted(() => ({ etag: '"a"', bytes: bytes(100, 1) }), () => 0);
    await expect(downloadResumable('http://x/ck', { fetch: s.fetch, backoffMs: 0, maxStalls: 3 })).rejects.toThrow(/3 tries in a row brought no bytes \(0 held\); last: the connection dropped/);
    expect(s.requests).toHaveLength(3);
    let calls = 0;
    const notFound: FetchFn = async () => (calls++, new Response('{"error":"not-found"}', { status: 404 }));
    await expect(downloadResumable('http://x/ck', { fetch: notFound, backoffMs: 0 })).rejects.toThrow(DownloadError);
    expect(calls).toBe(1);
  });

  it('refuses a 206 that does not continue where its bytes end', async () => {
    let n = 0;
    const fetch: FetchFn = async () =>
      ++n === 1
        ? new Response(cutBody(bytes(100, 1), 10), { status: 200, headers: { etag: '"a"', 'content-length': '100' } })
        : new Response(bytes(50, 1), { status: 206, headers: { etag: '"a"', 'content-range': 'bytes 50-99/100' } });
    await expect(downloadResumable('http://x/ck', { fetch, backoffMs: 0 })).rejects.toThrow(/asked for bytes 10- of "a", got 206 Content-Range "bytes 50-99\/100"/);
  });
});

describe('gunzip', () => {
  it('is the inverse of gzip and refuses a truncated stream', async () => {
    const raw = bytes(5000, 11);
    const gz = new Uint8Array(gzipSync(raw));
    expect(await gunzip(gz)).toEqual(raw);
    await expect(gunzip(gz.subarray(0, gz.byteLength - 4))).rejects.toThrow();
  });
});

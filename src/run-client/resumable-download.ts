/**
 * A large GET that survives dropped connections (the checkpoint download,
 * server/checkpoint-download.ts): what has arrived is kept, and the next try
 * asks only for the rest with Range, under If-Range naming the first
 * response's ETag, so a resource that changed meanwhile comes back whole
 * rather than spliced onto the old bytes. Works the same in a tab and in
 * Node (fetch and streams only).
 */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

export interface DownloadOptions {
  headers?: Record<string, string>;
  fetch?: FetchFn;
  /** Tries in a row that bring no new byte before it gives up; a try that brings some starts the count again. */
  maxStalls?: number;
  /** The wait after the n-th try in a row without progress is backoffMs·2^(n−1). */
  backoffMs?: number;
}

export interface Downloaded {
  /** The headers of the response that started the bytes (the 200). */
  headers: Headers;
  bytes: Uint8Array;
  /** How many requests it took. */
  requests: number;
}

/** What the 200 said about the body; a resumed 206 must be the same representation. */
interface Origin {
  headers: Headers;
  etag: string | null;
  total: number | null;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

// 408, 425 and 429 say "later"; 416 means our partial copy is wrong, so start over. Other 4xx will not change.
const RETRYABLE_4XX = new Set([408, 416, 425, 429]);

export async function downloadResumable(url: string, opts: DownloadOptions = {}): Promise<Downloaded> {
  const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const maxStalls = opts.maxStalls ?? 6;
  const backoffMs = opts.backoffMs ?? 500;
  const parts: Uint8Array[] = [];
  let received = 0;
  let origin: Origin | null = null;
  let stalls = 0;
  let requests = 0;
  let lastError = '';
  for (;;) {
    const before = received;
    try {
      const resume = origin?.etag != null && received > 0;
      const headers = new Headers(opts.headers);
      if (resume) {
        headers.set('Range', `bytes=${received}-`);
        headers.set('If-Range', origin!.etag!);
      }
      requests++;
      const res = await fetchFn(url, { headers, cache: 'no-store' });
      if (res.status === 206 && resume) checkResumed(res, received, origin!);
      else if (res.status === 200) {
        // A fresh body: whatever we held was of other bytes (or we could not resume it).
        parts.length = 0;
        received = 0;
        origin = originOf(res);
      } else {
        const text = await res.text().catch(() => '');
        const message = `HTTP ${res.status} ${text.slice(0, 300)}`.trim();
        if (res.status === 416) {
          parts.length = 0;
          received = 0;
          origin = null;
        }
        if (res.status < 500 && !RETRYABLE_4XX.has(res.status)) throw new DownloadError(`GET ${url}: ${message}`);
        throw new Error(message);
      }
      await readBody(res, (chunk) => {
        parts.push(chunk);
        received += chunk.byteLength;
      });
      if (origin!.total === null || received === origin!.total) return { headers: origin!.headers, bytes: concat(parts, received), requests };
      if (received > origin!.total) throw new DownloadError(`GET ${url}: got ${received} bytes, more than the ${origin!.total} announced`);
      lastError = `the body ended after ${received} of ${origin!.total} bytes`;
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      lastError = (e as Error).message;
    }
    stalls = received > before ? 0 : stalls + 1;
    if (stalls >= maxStalls) throw new DownloadError(`GET ${url}: ${stalls} tries in a row brought no bytes (${received} held); last: ${lastError}`);
    if (stalls > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (stalls - 1)));
  }
}

function originOf(res: Response): Origin {
  const etag = res.headers.get('etag');
  const length = res.headers.get('content-length');
  return {
    headers: res.headers,
    // A weak tag may name other bytes: never resume under one.
    etag: etag !== null && !etag.startsWith('W/') ? etag : null,
    total: length !== null && /^\d+$/.test(length) ? Number(length) : null,
  };
}

/** A 206 must continue exactly where our bytes end, in the body we started. */
function checkResumed(res: Response, received: number, origin: Origin): void {
  const m = CONTENT_RANGE.exec(res.headers.get('content-range') ?? '');
  const total = m === null ? NaN : Number(m[3]);
  if (m === null || Number(m[1]) !== received || (origin.total !== null && total !== origin.total) || res.headers.get('etag') !== origin.etag) {
    throw new DownloadError(`asked for bytes ${received}- of ${origin.etag}, got ${res.status} Content-Range "${res.headers.get('content-range')}" ETag ${res.headers.get('etag')}`);
  }
}

/** Hands on the body's chunks as they come, so a connection that drops mid-body still leaves what it delivered. */
async function readBody(res: Response, take: (chunk: Uint8Array) => void): Promise<void> {
  if (res.body === null) return;
  const reader = res.body.getReader();
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      take(value);
      n += value.byteLength;
    }
  } catch (e) {
    throw new Error(`the connection dropped after ${n} bytes of the body (${(e as Error).message})`);
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** gzip bytes → the bytes they hold, with the platform's DecompressionStream (browsers and Node ≥ 18); a corrupt or truncated stream throws. */
export async function gunzip(gz: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([gz as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

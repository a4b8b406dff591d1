/**
 * Test doubles for the loader: a static file server as a fetch function that
 * honours (or, on request, ignores) Range headers and logs every request.
 * Used only by the *.test.ts files next to it.
 */
import type { FetchFn } from './loader';

export interface FakeRequest {
  url: string;
  range: string | null;
  status: number;
  bytesSent: number;
}

export interface FakeServerOptions {
  /** Answer every range request with 200 and the whole file, as some static hosts do. */
  ignoreRange?: boolean;
  /** Lets a test corrupt a response to check that the loader notices. */
  tamper?: (url: string, status: number, body: Uint8Array, headers: Headers) => Response | undefined;
}

export interface FakeServer {
  fetch: FetchFn;
  requests: FakeRequest[];
  files: Map<string, Uint8Array>;
}

const RANGE = /^bytes=(\d+)-(\d+)$/;

function headerOf(init: RequestInit | undefined, name: string): string | null {
  return init?.headers === undefined ? null : new Headers(init.headers).get(name);
}

function respond(url: string, file: Uint8Array, range: string | null, opts: FakeServerOptions): { status: number; body: Uint8Array; headers: Headers } {
  const headers = new Headers({ 'accept-ranges': 'bytes' });
  const m = range === null || opts.ignoreRange ? null : RANGE.exec(range);
  if (range !== null && !opts.ignoreRange && m === null) throw new Error(`fake server: malformed Range "${range}" for ${url}`);
  if (m === null) return { status: 200, body: file, headers };
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), file.byteLength - 1);
  if (start > end) {
    headers.set('content-range', `bytes */${file.byteLength}`);
    return { status: 416, body: new Uint8Array(0), headers };
  }
  headers.set('content-range', `bytes ${start}-${end}/${file.byteLength}`);
  return { status: 206, body: file.slice(start, end + 1), headers };
}

export function fakeServer(files: Map<string, Uint8Array>, opts: FakeServerOptions = {}): FakeServer {
  const requests: FakeRequest[] = [];
  const fetch: FetchFn = async (url, init) => {
    const range = headerOf(init, 'range');
    const file = files.get(url);
    if (file === undefined) {
      requests.push({ url, range, status: 404, bytesSent: 0 });
      return new Response('not found', { status: 404 });
    }
    const { status, body, headers } = respond(url, file, range, opts);
    requests.push({ url, range, status, bytesSent: body.byteLength });
    return opts.tamper?.(url, status, body, headers) ?? new Response(new Uint8Array(body), { status, headers });
  };
  return { fetch, requests, files };
}

export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/**
 * Files from a directory over HTTP: the built app (dist/) and the data
 * shards (public/data/), with single byte ranges for the shard readers.
 * Paths are resolved inside the root and anything that would leave it
 * (.., encoded slashes, NUL) is refused.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { parseRange } from './range';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export class BadPathError extends Error {
  override name = 'BadPathError';
}

/** The file's absolute path inside `root`, or null when there is none; throws BadPathError on a path that tries to leave root. */
export async function findFile(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    throw new BadPathError(`path ${JSON.stringify(urlPath.slice(0, 200))} is not valid percent-encoding`);
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) {
    throw new BadPathError(`path ${JSON.stringify(decoded.slice(0, 200))} is not allowed`);
  }
  const base = resolve(root);
  let file = resolve(base, '.' + decoded);
  if (file !== base && !file.startsWith(base + sep)) throw new BadPathError(`path ${JSON.stringify(decoded.slice(0, 200))} leaves the served folder`);
  let info = await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    file = resolve(file, 'index.html');
    info = await stat(file).catch(() => null);
  }
  return info?.isFile() ? file : null;
}

/** Sends `file` (200, or 206/416 when `ranges` and the request has a Range header). */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, ranges: boolean): Promise<void> {
  const { size } = await stat(file);
  const headers: Record<string, string | number> = { 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
  if (ranges) headers['Accept-Ranges'] = 'bytes';
  const range = ranges ? parseRange(req.headers.range, size) : ({ kind: 'full' } as const);
  if (range.kind === 'invalid') {
    const body = JSON.stringify({ error: 'range-not-satisfiable', message: range.reason });
    res.writeHead(416, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Range': `bytes */${size}`, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1];
  headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
  if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file, { start, end });
    stream.on('error', () => {
      res.destroy();
      done();
    });
    stream.on('end', () => done());
    stream.pipe(res);
  });
}

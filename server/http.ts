/**
 * The coordinator's HTTP server: the API (api.ts), the data shards under
 * /data/ with byte ranges (readable from any origin), and the built app with a fallback to index.html
 * for client-side routes. The WebSocket endpoint shares this server (/ws,
 * socket.ts). Every error is JSON: {error, message}.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { handleApi, HttpError, receiveCheckpoint, sendJson, type ApiContext } from './api';
import type { Logger } from './log';
import { handleRewardsApi, REWARDS_PREFIX } from './rewards/http-handler';
import type { Rewards } from './rewards/rewards';
import { BadPathError, findFile, sendFile } from './static-files';

export interface HttpOptions extends ApiContext {
  /** The built app (vite build output). */
  distDir: string;
  /** Data shards, served at /data/. */
  dataDir: string;
  log: Logger;
  /** The rewards API (/api/rewards/, server/rewards/); absent until start.ts has opened the chain. */
  rewards?: Rewards;
}

export function createHttpServer(opts: HttpOptions): Server {
  return createServer((req, res) => {
    handle(opts, req, res).catch((e: unknown) => fail(opts, req, res, e));
  });
}

async function handle(opts: HttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // The rewards API takes POST bodies and checks its own methods.
  if (url.pathname.startsWith(REWARDS_PREFIX)) {
    if (opts.rewards === undefined) throw new HttpError(503, 'rewards-unavailable', 'the rewards service is not running on this server');
    return handleRewardsApi(opts.rewards, req, res, url);
  }
  const upload = /^\/api\/checkpoint\/(0|[1-9][0-9]{0,9})$/.exec(url.pathname);
  if (upload !== null && req.method === 'PUT') return receiveCheckpoint(opts, req, res, Number(upload[1]), url.searchParams);
  if (url.pathname.startsWith('/data/')) allowOtherOrigins(res);
  if (req.method === 'OPTIONS' && url.pathname.startsWith('/data/')) {
    res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Max-Age': '86400' });
    res.end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed; use GET or HEAD`);
  }
  const path = url.pathname;
  const head = req.method === 'HEAD';
  if (path === '/api' || path.startsWith('/api/')) return handleApi(opts, req, path, url.searchParams, res, head);
  if (path === '/ws') throw new HttpError(426, 'upgrade-required', '/ws is the WebSocket endpoint');
  if (path.startsWith('/data/')) {
    const file = await findFile(opts.dataDir, path.slice('/data'.length));
    if (file === null) throw new HttpError(404, 'not-found', `no data file ${path}`);
    return sendFile(req, res, file, true);
  }
  const file = await findFile(opts.distDir, path);
  if (file !== null) return sendFile(req, res, file, true);
  // Client-side routes have no extension; a missing asset must stay a 404.
  if (extname(path) === '') {
    const index = await findFile(opts.distDir, '/index.html');
    if (index !== null) return sendFile(req, res, index, false);
    throw new HttpError(404, 'not-found', `the app is not built (no ${opts.distDir}/index.html); run npm run build`);
  }
  throw new HttpError(404, 'not-found', `no file ${path}`);
}

/**
 * A run may name this coordinator's dataset by URL while its app comes from
 * elsewhere (src/data/dataset-ref.ts); shards are public, so any origin may
 * read them, and the loader may check Content-Range.
 */
function allowOtherOrigins(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
}

function fail(opts: HttpOptions, req: IncomingMessage, res: ServerResponse, e: unknown): void {
  const err = e instanceof HttpError ? e : e instanceof BadPathError ? new HttpError(400, 'bad-path', e.message) : null;
  if (err === null) opts.log('http-internal-error', { method: req.method, url: req.url, error: (e as Error).stack ?? String(e) });
  else opts.log('http-refused', { method: req.method, url: req.url?.slice(0, 300), status: err.status, code: err.code, message: err.message });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = err?.status ?? 500;
  sendJson(res, status, { error: err?.code ?? 'internal', message: err?.message ?? 'internal server error' }, req.method === 'HEAD');
}

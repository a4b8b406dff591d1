/**
 * The coordinator's JSON/binary API (docs/design.md §8, docs/run.md "Checkpoints
 * and catch-up"). Every query parameter is validated; an unknown one is an
 * error too, so a typo never silently means the default.
 *
 *   GET /api/status                    {state, epoch, step, clients: [{id, state, points, standing}]}
 *   GET /api/checkpoint/latest         safetensors bytes; X-Tessera-Epoch, -Step, -Checksum headers. With
 *                                      Accept: application/gzip: gzip of them, resumable (Range, ETag, If-Range),
 *                                      plus X-Tessera-Size (checkpoint-download.ts)
 *   GET /api/checkpoint/latest/hf      the latest checkpoint as a Hugging Face model folder, tar (hf-export.ts)
 *   GET /api/updates?fromStep=N[&limit=M]  the catch-up bundle (update-bundle.ts), at most M rounds (default and max 256)
 *   GET /api/updates/urls?fromStep=N[&limit=M]  the same rounds with presigned bucket URLs for the payloads
 *                                      (src/net/update-urls.ts); 404 no-bucket on a relay coordinator
 *   GET /api/history[?fromStep=N][&limit=M]  the rounds' history from step N (default 0), at most M rows (default and max
 *                                      1000), the epochs, the leaderboard and the status (history.ts, src/net/history.ts)
 *   GET /api/events                    text/event-stream of the history as it happens (events.ts)
 *   PUT /api/checkpoint/S?client=ID    a member's epoch checkpoint of step S (checkpoint-uploads.ts): safetensors,
 *                                      gzip with Content-Encoding: gzip, X-Tessera-Signature = hex signCheckpoint
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { z } from 'zod';
import { CheckpointDownloads, sendCompressedCheckpoint, wantsGzip } from './checkpoint-download';
import type { Coordinator } from './coordinator';
import type { EventHub } from './events';
import type { Payloads } from './payload-store';
import { sendHfExport } from './hf-export';
import { historyResponse, liveStatus } from './history';
import type { Store } from './store';
import { MAX_HISTORY_ROUNDS } from '../src/net/history';
import { encodeUpdateBundle } from '../src/net/update-bundle';
import type { UpdateUrls } from '../src/net/update-urls';
import { hexToBytes } from '@noble/hashes/utils.js';

export const MAX_BUNDLE_ROUNDS = 256;

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiContext {
  coordinator: Coordinator;
  store: Store;
  /** The event streams of /api/events; absent, that endpoint answers 503. */
  events?: EventHub;
  /** The payload store and its counters, shared with the socket; absent, a relay that nobody counts. */
  payloads?: Payloads;
}

const decimal = (what: string, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, `${what} must be a non-negative decimal integer`)
    .transform(Number)
    .refine((n) => n <= max, `${what} must be at most ${max}`);

const noQuery = z.strictObject({});
const historyQuery = z.strictObject({
  fromStep: decimal('fromStep', Number.MAX_SAFE_INTEGER).optional(),
  limit: decimal('limit', MAX_HISTORY_ROUNDS).refine((n) => n >= 1, 'limit must be at least 1').optional(),
});
const updatesQuery = z.strictObject({
  fromStep: decimal('fromStep', Number.MAX_SAFE_INTEGER),
  limit: decimal('limit', MAX_BUNDLE_ROUNDS).refine((n) => n >= 1, 'limit must be at least 1').optional(),
});

function parseQuery<S extends z.ZodType>(params: URLSearchParams, schema: S): z.output<S> {
  const obj: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(obj, key)) throw new HttpError(400, 'bad-query', `query parameter "${key}" is given more than once`);
    obj[key] = value;
  }
  const result = schema.safeParse(obj);
  if (!result.success) throw new HttpError(400, 'bad-query', `bad query: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : text);
}

function sendBytes(res: ServerResponse, bytes: Uint8Array, headers: Record<string, string>, head: boolean): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length, 'Cache-Control': 'no-store', ...headers });
  res.end(head ? undefined : bytes);
}

// One compressed-checkpoint cache per store, so the contexts callers build need nothing new.
const downloads = new WeakMap<Store, CheckpointDownloads>();

function checkpointDownloads(store: Store): CheckpointDownloads {
  let d = downloads.get(store);
  if (d === undefined) downloads.set(store, (d = new CheckpointDownloads(store)));
  return d;
}

const NO_CHECKPOINT = () => new HttpError(404, 'not-found', 'no checkpoint has been built yet');

async function latestCheckpoint(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void> {
  if (wantsGzip(req)) {
    const ready = checkpointDownloads(ctx.store).latest();
    if (ready === null) throw NO_CHECKPOINT();
    return sendCompressedCheckpoint(req, res, await ready, head);
  }
  const c = ctx.store.latestCheckpoint();
  if (c === null) throw NO_CHECKPOINT();
  sendBytes(res, c.bytes, { 'X-Tessera-Epoch': String(c.epoch), 'X-Tessera-Step': String(c.step), 'X-Tessera-Checksum': c.checksum, Vary: 'Accept' }, head);
}

/** Answers one /api/ request; throws (or rejects with) HttpError for the caller to turn into a JSON error. */
export function handleApi(ctx: ApiContext, req: IncomingMessage, path: string, query: URLSearchParams, res: ServerResponse, head: boolean): void | Promise<void> {
  switch (path) {
    case '/api/status':
      parseQuery(query, noQuery);
      return sendJson(res, 200, status(ctx.coordinator, ctx.payloads), head);
    case '/api/checkpoint/latest':
      parseQuery(query, noQuery);
      return latestCheckpoint(ctx, req, res, head);
    case '/api/checkpoint/latest/hf':
      parseQuery(query, noQuery);
      return sendHfExport(ctx, res, head);
    case '/api/updates': {
      const q = parseQuery(query, updatesQuery);
      return sendBytes(res, updates(ctx, q.fromStep, q.limit ?? MAX_BUNDLE_ROUNDS, head), {}, head);
    }
    case '/api/updates/urls': {
      const q = parseQuery(query, updatesQuery);
      return updateUrls(ctx, q.fromStep, q.limit ?? MAX_BUNDLE_ROUNDS).then((body) => sendJson(res, 200, body, head));
    }
    case '/api/history': {
      const q = parseQuery(query, historyQuery);
      return sendJson(res, 200, historyResponse(ctx.store, ctx.coordinator.state, q.fromStep ?? 0, q.limit ?? MAX_HISTORY_ROUNDS), head);
    }
    case '/api/events':
      parseQuery(query, noQuery);
      if (ctx.events === undefined) throw new HttpError(503, 'events-unavailable', 'this server has no event stream');
      return ctx.events.open(req, res, head, [{ event: 'status', data: liveStatus(ctx.coordinator.state) }]);
    default:
      throw new HttpError(404, 'not-found', `no API endpoint ${path}`);
  }
}

const gunzipAsync = promisify(gunzip);
const checkpointQuery = z.strictObject({ client: z.string().regex(/^[0-9a-f]{64}$/, 'client must be 64 lowercase hex characters (an ed25519 public key)') });

/** A checkpoint upload: read within the size of this run's model, decompress, verify and hand to the coordinator. */
export async function receiveCheckpoint(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, step: number, query: URLSearchParams): Promise<void> {
  const { client } = parseQuery(query, checkpointQuery);
  const signature = req.headers['x-tessera-signature'];
  if (typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature)) throw new HttpError(400, 'bad-signature', 'X-Tessera-Signature must be 128 lowercase hex characters');
  const encoding = req.headers['content-encoding'] ?? 'identity';
  if (encoding !== 'gzip' && encoding !== 'identity') throw new HttpError(415, 'bad-encoding', `Content-Encoding ${encoding} is not gzip or identity`);
  // The safetensors of this model: its floats and a header far under 1 MiB.
  const limit = ctx.coordinator.checkpointBytesLimit;
  const body = await readBody(req, limit + (limit >> 4));
  let bytes: Uint8Array = body;
  if (encoding === 'gzip') {
    try {
      bytes = new Uint8Array(await gunzipAsync(body, { maxOutputLength: limit }));
    } catch (e) {
      throw new HttpError(400, 'bad-gzip', `the body does not gunzip to at most ${limit} bytes: ${(e as Error).message}`);
    }
  }
  const result = await ctx.coordinator.checkpoints.offer({ step, clientId: client, signature: hexToBytes(signature), bytes });
  sendJson(res, 202, result);
}

function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, 'too-large', `the body is over ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function status(coordinator: Coordinator, payloads: Payloads | undefined) {
  const s = coordinator.state;
  return {
    ...(payloads === undefined ? {} : { payloads: { store: payloads.store.kind, ...payloads.traffic } }),
    state: s.phase,
    epoch: s.epoch,
    step: s.step,
    clients: Object.values(s.clients)
      .sort((a, b) => a.joinSeq - b.joinSeq)
      .map((c) => ({
        id: c.id,
        state: c.status,
        points: c.points,
        standing: {
          probation: c.verifiedRounds < coordinator.config.verification.probationRounds,
          verifiedRounds: c.verifiedRounds,
          strikes: c.strikes,
          held: c.unvested.reduce((sum, u) => sum + u.amount, 0),
          vested: c.points,
          forfeited: c.forfeited,
        },
      })),
  };
}

function updates(ctx: ApiContext, fromStep: number, limit: number, head: boolean): Uint8Array {
  const rows = ctx.store.agreedRange(fromStep, ctx.coordinator.state.step, limit);
  const rounds = rows.map(({ step, epoch, lrBits, slots, clients, hashes, checksum }) => ({
    step,
    epoch,
    lrBits,
    checksum,
    slots,
    clients,
    hashes,
    payloads: hashes.map((h) => {
      const bytes = ctx.store.getPayload(h);
      // The round gate stores every payload before its commit counts, so this is a broken database.
      if (bytes === null) throw new HttpError(500, 'missing-payload', `agreed payload ${h} of step ${step} is missing from the store`);
      return bytes;
    }),
  }));
  // The bundle is the relay's too: a bucket coordinator serves it only to tabs whose bucket copy failed its hash.
  if (ctx.payloads !== undefined && !head) ctx.payloads.traffic.relayBytesOut += rounds.reduce((n, r) => n + r.payloads.reduce((m, p) => m + p.length, 0), 0);
  return encodeUpdateBundle(fromStep, rounds);
}

async function updateUrls(ctx: ApiContext, fromStep: number, limit: number): Promise<UpdateUrls> {
  const store = ctx.payloads?.store;
  if (store?.kind !== 'bucket') throw new HttpError(404, 'no-bucket', 'this coordinator relays payloads itself; read /api/updates');
  const rows = ctx.store.agreedRange(fromStep, ctx.coordinator.state.step, limit);
  const rounds = await Promise.all(
    rows.map(async ({ step, epoch, lrBits, slots, clients, hashes, checksum }) => ({
      step,
      epoch,
      lrBits,
      checksum,
      slots,
      clients,
      hashes,
      urls: await Promise.all(hashes.map(async (h) => (await store.downloadUrl(h)).url)),
    })),
  );
  if (ctx.payloads !== undefined) ctx.payloads.traffic.downloadUrls += rounds.reduce((n, r) => n + r.urls.length, 0);
  return { fromStep, toStep: rows.length === 0 ? fromStep : rows[rows.length - 1].step + 1, rounds };
}

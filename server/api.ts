/**
 * The coordinator's JSON/binary API (DESIGN.md §8, docs/run.md "Checkpoints
 * and catch-up"). Every query parameter is validated; an unknown one is an
 * error too, so a typo never silently means the default.
 *
 *   GET /api/status                    {state, epoch, step, clients: [{id, state, points, standing}]}
 *   GET /api/checkpoint/latest         safetensors bytes; X-Tessera-Epoch, -Step, -Checksum headers
 *   GET /api/updates?fromStep=N[&limit=M]  the catch-up bundle (update-bundle.ts), at most M rounds (default and max 256)
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Coordinator } from './coordinator';
import type { Store } from './store';
import { encodeUpdateBundle } from '../src/net/update-bundle';

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
}

const decimal = (what: string, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, `${what} must be a non-negative decimal integer`)
    .transform(Number)
    .refine((n) => n <= max, `${what} must be at most ${max}`);

const noQuery = z.strictObject({});
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

/** Answers one /api/ request; throws HttpError for the caller to turn into a JSON error. */
export function handleApi(ctx: ApiContext, path: string, query: URLSearchParams, res: ServerResponse, head: boolean): void {
  switch (path) {
    case '/api/status':
      parseQuery(query, noQuery);
      return sendJson(res, 200, status(ctx.coordinator), head);
    case '/api/checkpoint/latest': {
      parseQuery(query, noQuery);
      const c = ctx.store.latestCheckpoint();
      if (c === null) throw new HttpError(404, 'not-found', 'no checkpoint has been built yet');
      return sendBytes(res, c.bytes, { 'X-Tessera-Epoch': String(c.epoch), 'X-Tessera-Step': String(c.step), 'X-Tessera-Checksum': c.checksum }, head);
    }
    case '/api/updates': {
      const q = parseQuery(query, updatesQuery);
      return sendBytes(res, updates(ctx, q.fromStep, q.limit ?? MAX_BUNDLE_ROUNDS), {}, head);
    }
    default:
      throw new HttpError(404, 'not-found', `no API endpoint ${path}`);
  }
}

function status(coordinator: Coordinator) {
  const s = coordinator.state;
  return {
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

function updates(ctx: ApiContext, fromStep: number, limit: number): Uint8Array {
  const rows = ctx.store.agreedRange(fromStep, ctx.coordinator.state.step, limit);
  const rounds = rows.map(({ step, epoch, lrBits, slots, clients, hashes }) => ({
    step,
    epoch,
    lrBits,
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
  return encodeUpdateBundle(fromStep, rounds);
}

/**
 * The rewards endpoints under /api/rewards/ (the API in src/rewards/api.ts).
 * POST bodies must be application/json, at most MAX_REWARDS_BODY_BYTES, and
 * match their zod schema exactly (unknown fields are refused too). Refusals
 * are thrown as HttpError so server/http.ts logs them and answers
 * {error, message} like every other endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { bindRequestSchema, claimRequestSchema, MAX_REWARDS_BODY_BYTES } from '../../src/rewards/api';
import { isWalletAddress } from '../../src/rewards/wallet-address';
import { HttpError, sendJson } from '../api';
import type { Rewards } from './rewards';
import { RewardsError } from './rewards-error';

export const REWARDS_PREFIX = '/api/rewards/';

const noQuery = z.strictObject({});
const walletQuery = z.strictObject({ wallet: z.string().refine(isWalletAddress, 'wallet must be a base58 Solana address (32 bytes)') });
const clientQuery = z.strictObject({ clientId: z.string().regex(/^[0-9a-f]{64}$/, 'clientId must be 64 lowercase hex characters') });

type Route = { method: 'GET' | 'POST'; run: (rewards: Rewards, req: IncomingMessage, url: URL, res: ServerResponse) => Promise<unknown> | unknown };

const ROUTES: Record<string, Route> = {
  '/api/rewards/config': { method: 'GET', run: (r, _req, url) => (query(url, noQuery), r.config()) },
  '/api/rewards/nonce': { method: 'GET', run: (r, _req, url) => (query(url, noQuery), r.issueNonce()) },
  '/api/rewards/client': { method: 'GET', run: (r, _req, url) => r.client(query(url, clientQuery).clientId) },
  '/api/rewards/account': { method: 'GET', run: (r, _req, url) => r.account(query(url, walletQuery).wallet) },
  '/api/rewards/bind': { method: 'POST', run: async (r, req, url, res) => (query(url, noQuery), r.bind(parseBody(await readJson(req, res), bindRequestSchema))) },
  '/api/rewards/claim': { method: 'POST', run: async (r, req, url, res) => (query(url, noQuery), r.claim(parseBody(await readJson(req, res), claimRequestSchema))) },
};

/** Answers one request under /api/rewards/; throws HttpError for the caller to turn into a JSON error. */
export async function handleRewardsApi(rewards: Rewards, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = ROUTES[url.pathname];
  if (route === undefined) throw new HttpError(404, 'not-found', `no rewards endpoint ${url.pathname}`);
  if (req.method !== route.method) {
    res.setHeader('Allow', route.method);
    throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}; use ${route.method}`);
  }
  try {
    sendJson(res, 200, await route.run(rewards, req, url, res));
  } catch (error) {
    if (error instanceof RewardsError) throw new HttpError(error.status, error.code, error.message);
    throw error;
  }
}

function query<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  const obj: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (Object.hasOwn(obj, key)) throw new RewardsError('bad-query', `query parameter "${key}" is given more than once`);
    obj[key] = value;
  }
  const result = schema.safeParse(obj);
  if (!result.success) throw new RewardsError('bad-query', `bad query: ${z.prettifyError(result.error)}`);
  return result.data;
}

function parseBody<S extends z.ZodType>(json: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(json);
  if (!result.success) throw new RewardsError('bad-body', `bad request body: ${z.prettifyError(result.error)}`);
  return result.data;
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new RewardsError('unsupported-media-type', `the body must be JSON with Content-Type: application/json (got "${type}")`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  // The rest of an oversized body is never read: the connection cannot be reused.
  if (declared > MAX_REWARDS_BODY_BYTES) res.setHeader('Connection', 'close');
  if (declared > MAX_REWARDS_BODY_BYTES) throw new RewardsError('body-too-large', `the body is ${declared} bytes; at most ${MAX_REWARDS_BODY_BYTES} are read`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REWARDS_BODY_BYTES) res.setHeader('Connection', 'close');
    if (size > MAX_REWARDS_BODY_BYTES) throw new RewardsError('body-too-large', `the body is over ${MAX_REWARDS_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new RewardsError('bad-json', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RewardsError('bad-json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

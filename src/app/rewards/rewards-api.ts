/**
 * The Rewards page's calls to the coordinator (src/rewards/api.ts): every
 * response validated, every refusal surfaced with the server's own message.
 */
import type { z } from 'zod';
import {
  accountResponseSchema,
  bindResponseSchema,
  claimResponseSchema,
  nonceResponseSchema,
  rewardsConfigResponseSchema,
  rewardsErrorSchema,
  type BindRequest,
  type ClaimRequest,
} from '../../rewards/api';

export class RewardsApiError extends Error {
  override name = 'RewardsApiError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<S extends z.ZodType>(schema: S, path: string, body?: BindRequest | ClaimRequest): Promise<z.output<S>> {
  const res = await fetch(path, body ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : { cache: 'no-store' });
  const json: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const err = rewardsErrorSchema.safeParse(json);
    throw err.success ? new RewardsApiError(err.data.error, err.data.message) : new RewardsApiError('http', `${path}: HTTP ${res.status}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new RewardsApiError('bad-response', `${path} answered something this page does not understand`);
  return parsed.data;
}

export const rewardsApi = {
  config: () => call(rewardsConfigResponseSchema, '/api/rewards/config'),
  nonce: () => call(nonceResponseSchema, '/api/rewards/nonce'),
  account: (wallet: string) => call(accountResponseSchema, `/api/rewards/account?wallet=${encodeURIComponent(wallet)}`),
  bind: (req: BindRequest) => call(bindResponseSchema, '/api/rewards/bind', req),
  claim: (req: ClaimRequest) => call(claimResponseSchema, '/api/rewards/claim', req),
};

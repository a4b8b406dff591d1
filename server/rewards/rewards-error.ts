/**
 * A refused rewards request: a code from src/rewards/api.ts, the HTTP status
 * it maps to, and a message that says what was wrong. Thrown before anything
 * is written (or from inside the transaction, which then rolls back), so a
 * refusal never changes the database or the chain.
 */
import type { RewardsErrorCode } from '../../src/rewards/api';

const STATUS: Record<RewardsErrorCode, number> = {
  'bad-json': 400,
  'bad-body': 400,
  'bad-query': 400,
  'bad-message': 400,
  'body-too-large': 413,
  'unsupported-media-type': 415,
  'wallet-mismatch': 403,
  'wrong-domain': 403,
  'wrong-cluster': 403,
  'wrong-run': 403,
  'wrong-client': 403,
  'bad-wallet-signature': 401,
  'bad-client-signature': 401,
  'nonce-unknown': 401,
  'nonce-used': 409,
  'nonce-expired': 401,
  'message-expired': 401,
  'issued-in-future': 401,
  'issued-too-old': 401,
  'bad-time-window': 400,
  'client-bound-elsewhere': 409,
  'insufficient-points': 409,
  'too-many-nonces': 503,
  'treasury-empty': 503,
  'chain-failed': 502,
  'payment-unconfirmed': 504,
};

export class RewardsError extends Error {
  override name = 'RewardsError';
  readonly status: number;
  constructor(
    readonly code: RewardsErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

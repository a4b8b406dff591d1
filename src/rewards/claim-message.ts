/**
 * The claim message a wallet signs with signMessage (docs/design.md §6): readable
 * lines naming the run, the wallet, the points, a server nonce, a validity
 * window, the app's domain and the chain, e.g.
 *
 *   Tessera claim
 *   Run: 0123456789abcdef0123456789abcdef
 *   Wallet: 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin
 *   Points: 120
 *   Nonce: 5f0c3a1e9b7d44c2a8e6f1b3d5c7e9a0
 *   Issued At: 2025-01-01T12:00:00.000Z
 *   Expiration Time: 2025-01-01T12:05:00.000Z
 *   Domain: localhost:8080
 *   Cluster: solana:localnet
 *
 * Exactly these nine lines in this order, '\n' between them and no trailing
 * newline. The parser accepts a text only if rebuilding it from the parsed
 * fields gives the same string.
 */
import { parseIsoTime } from './iso-time';
import { RewardsMessageError } from './message-error';
import { isChainId, isHostDomain, NONCE_PATTERN } from './message-fields';
import { isWalletAddress } from './wallet-address';

export const CLAIM_TITLE = 'Tessera claim';

export interface ClaimMessageFields {
  runId: string;
  /** base58 */
  wallet: string;
  /** Whole points, ≥ 1. */
  points: number;
  nonce: string;
  issuedAt: string;
  expirationTime: string;
  /** host[:port] of the app. */
  domain: string;
  /** Wallet Standard chain id, e.g. 'solana:devnet'. */
  cluster: string;
}

const LABELS = ['Run', 'Wallet', 'Points', 'Nonce', 'Issued At', 'Expiration Time', 'Domain', 'Cluster'] as const;

export function claimMessageText(f: ClaimMessageFields): string {
  checkFields(f);
  const values = [f.runId, f.wallet, String(f.points), f.nonce, f.issuedAt, f.expirationTime, f.domain, f.cluster];
  return [CLAIM_TITLE, ...LABELS.map((label, i) => `${label}: ${values[i]}`)].join('\n');
}

/** Reads a claim message; throws RewardsMessageError naming the first thing that is not exactly our format. */
export function parseClaimMessage(text: string): ClaimMessageFields {
  const lines = text.split('\n');
  if (lines[0] !== CLAIM_TITLE) throw new RewardsMessageError(`claim message must start with the line "${CLAIM_TITLE}"`);
  if (lines.length !== LABELS.length + 1) throw new RewardsMessageError(`claim message must have exactly ${LABELS.length + 1} lines, got ${lines.length}`);
  const values = LABELS.map((label, i) => {
    const line = lines[i + 1];
    const prefix = `${label}: `;
    if (!line.startsWith(prefix)) throw new RewardsMessageError(`claim message line ${i + 2} must start with "${prefix}"`);
    return line.slice(prefix.length);
  });
  const [runId, wallet, points, nonce, issuedAt, expirationTime, domain, cluster] = values;
  if (!/^[1-9][0-9]{0,15}$/.test(points) || !Number.isSafeInteger(Number(points))) {
    throw new RewardsMessageError('claim Points must be a whole number ≥ 1 without leading zeros');
  }
  const fields: ClaimMessageFields = { runId, wallet, points: Number(points), nonce, issuedAt, expirationTime, domain, cluster };
  if (claimMessageText(fields) !== text) throw new RewardsMessageError('claim message text is not in canonical form');
  return fields;
}

function checkFields(f: ClaimMessageFields): void {
  if (!/^[0-9a-f]{32}$/.test(f.runId)) throw new RewardsMessageError('claim Run must be 32 lowercase hex characters');
  if (!isWalletAddress(f.wallet)) throw new RewardsMessageError('claim Wallet is not a base58 wallet address (32 bytes)');
  if (!Number.isSafeInteger(f.points) || f.points < 1) throw new RewardsMessageError('claim Points must be a whole number ≥ 1');
  if (!NONCE_PATTERN.test(f.nonce)) throw new RewardsMessageError('claim Nonce must be 32 lowercase hex characters (from /api/rewards/nonce)');
  if (parseIsoTime(f.issuedAt) === null) throw new RewardsMessageError('claim Issued At must be an ISO time as toISOString() writes it');
  if (parseIsoTime(f.expirationTime) === null) throw new RewardsMessageError('claim Expiration Time must be an ISO time as toISOString() writes it');
  if (!isHostDomain(f.domain)) throw new RewardsMessageError(`claim Domain "${f.domain}" is not a host[:port]`);
  if (!isChainId(f.cluster)) throw new RewardsMessageError('claim Cluster must look like solana:<cluster>');
}

/**
 * The rewards HTTP API's bodies (server/rewards/http-handler.ts), shared by
 * the server (which validates every request body) and the browser (which
 * can validate every response). Encodings: wallet addresses and wallet
 * signatures base58 (as Solana tools write them), the tab's client id and
 * its signature lowercase hex (as the socket protocol), token amounts in
 * base units as decimal strings (they exceed 2^53), points as numbers.
 *
 *   GET  /api/rewards/config                 → RewardsConfigResponse
 *   GET  /api/rewards/nonce                  → NonceResponse
 *   POST /api/rewards/bind    BindRequest    → BindResponse
 *   GET  /api/rewards/client?clientId=HEX    → ClientResponse
 *   GET  /api/rewards/account?wallet=B58     → AccountResponse
 *   POST /api/rewards/claim   ClaimRequest   → ClaimResponse
 *
 * Every error is {error: RewardsErrorCode | other server code, message}.
 */
import { z } from 'zod';
import { isWalletAddress } from './wallet-address';

/** The largest request body the server reads. */
export const MAX_REWARDS_BODY_BYTES = 16 * 1024;
/** The longest message text accepted (SIWS bind messages are ~500 bytes). */
export const MAX_MESSAGE_CHARS = 4096;

const walletAddress = (what: string) => z.string().refine(isWalletAddress, `${what} must be a base58 Solana address (32 bytes)`);
const base58Signature = (what: string) => z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{64,90}$/, `${what} must be a base58 ed25519 signature (64 bytes)`);
const hex = (bytes: number, what: string) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`), `${what} must be ${2 * bytes} lowercase hex characters`);
const messageText = z.string().min(1, 'message must not be empty').max(MAX_MESSAGE_CHARS, `message must be at most ${MAX_MESSAGE_CHARS} characters`);
const baseUnits = z.string().regex(/^(0|[1-9][0-9]*)$/);
const iso = z.string();

export const bindRequestSchema = z.strictObject({
  /** The SIWS text exactly as signed (signIn's signedMessage decoded as UTF-8, or the text given to signMessage). */
  message: messageText,
  walletAddress: walletAddress('walletAddress'),
  /** The wallet's signature over the UTF-8 message bytes, base58. */
  walletSignature: base58Signature('walletSignature'),
  clientId: hex(32, 'clientId'),
  /** The tab key's signature over "tessera-bind-v1" ‖ 0x00 ‖ UTF-8 message, hex. */
  clientSignature: hex(64, 'clientSignature'),
});
export type BindRequest = z.infer<typeof bindRequestSchema>;

export const claimRequestSchema = z.strictObject({
  /** The claim text (claim-message.ts) exactly as signed. */
  message: messageText,
  walletAddress: walletAddress('walletAddress'),
  /** The wallet's signMessage signature over the UTF-8 message bytes, base58. */
  signature: base58Signature('signature'),
});
export type ClaimRequest = z.infer<typeof claimRequestSchema>;

export const rewardsConfigResponseSchema = z.object({
  runId: z.string(),
  /** The domain messages must name (host[:port]). */
  domain: z.string(),
  /** The chain id messages must name ('solana:localnet' for LiteSVM). */
  chainId: z.string(),
  /** The chain layer's cluster name ('litesvm', 'devnet', …). */
  cluster: z.string(),
  mint: z.string(),
  treasury: z.string(),
  decimals: z.number().int(),
  /** Base units paid per point, fixed for the run. */
  rate: baseUnits,
  /** How long a nonce stays usable. */
  nonceTtlMs: z.number().int(),
});
export type RewardsConfigResponse = z.infer<typeof rewardsConfigResponseSchema>;

export const nonceResponseSchema = z.object({
  nonce: z.string(),
  /** Server time now: use as the message's Issued At. */
  issuedAt: iso,
  /** When the nonce stops being accepted: use as the message's Expiration Time. */
  expiresAt: iso,
});
export type NonceResponse = z.infer<typeof nonceResponseSchema>;

export const bindResponseSchema = z.object({
  clientId: z.string(),
  wallet: z.string(),
  runId: z.string(),
  boundAt: iso,
  /** true when this client was already bound to this wallet (the nonce is still used up). */
  alreadyBound: z.boolean(),
});
export type BindResponse = z.infer<typeof bindResponseSchema>;

export const clientResponseSchema = z.object({
  clientId: z.string(),
  /** The bound wallet, or null. */
  wallet: z.string().nullable(),
  /** Points this client earned in the run so far. */
  points: z.number().int(),
});
export type ClientResponse = z.infer<typeof clientResponseSchema>;

export const CLAIM_STATUSES = ['pending', 'paid', 'failed'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

export const claimSummarySchema = z.object({
  claimId: z.string(),
  points: z.number().int(),
  /** Base units. */
  amount: baseUnits,
  /** pending: sent or about to be, outcome not known yet (counts as claimed); failed: nothing moved (does not count). */
  status: z.enum(CLAIM_STATUSES),
  signature: z.string().nullable(),
  explorerUrl: z.string().nullable(),
  createdAt: iso,
});
export type ClaimSummary = z.infer<typeof claimSummarySchema>;

export const accountResponseSchema = z.object({
  wallet: z.string(),
  /** Client ids bound to this wallet. */
  clients: z.array(z.string()),
  earned: z.number().int(),
  /** Points in paid and pending claims. */
  claimed: z.number().int(),
  claimable: z.number().int(),
  rate: baseUnits,
  decimals: z.number().int(),
  mint: z.string(),
  cluster: z.string(),
  chainId: z.string(),
  /** The wallet's token balance on chain, base units. */
  tokenBalance: baseUnits,
  /** Newest first. */
  claims: z.array(claimSummarySchema),
});
export type AccountResponse = z.infer<typeof accountResponseSchema>;

export const claimResponseSchema = z.object({
  claimId: z.string(),
  points: z.number().int(),
  amount: baseUnits,
  signature: z.string(),
  explorerUrl: z.string().nullable(),
});
export type ClaimResponse = z.infer<typeof claimResponseSchema>;

/** Codes of refused rewards requests (HTTP status in server/rewards/rewards-error.ts). */
export const REWARDS_ERROR_CODES = [
  'bad-json',
  'bad-body',
  'bad-query',
  'bad-message',
  'body-too-large',
  'unsupported-media-type',
  'wallet-mismatch',
  'wrong-domain',
  'wrong-cluster',
  'wrong-run',
  'wrong-client',
  'bad-wallet-signature',
  'bad-client-signature',
  'nonce-unknown',
  'nonce-used',
  'nonce-expired',
  'message-expired',
  'issued-in-future',
  'issued-too-old',
  'bad-time-window',
  'client-bound-elsewhere',
  'insufficient-points',
  'too-many-nonces',
  'treasury-empty',
  'chain-failed',
  'payment-unconfirmed',
] as const;
export type RewardsErrorCode = (typeof REWARDS_ERROR_CODES)[number];

export const rewardsErrorSchema = z.object({ error: z.string(), message: z.string() });

/**
 * The wallet-binding message (docs/design.md §6): a Sign-In-With-Solana message
 * whose statement names the tab's client id and the run, signed twice over
 * the exact same text:
 *   - by the wallet (Wallet Standard signIn, or signMessage of this text),
 *     which proves the wallet holder wants the binding;
 *   - by the tab's ed25519 key over "tessera-bind-v1" ‖ 0x00 ‖ UTF-8 text,
 *     which proves the client id's owner wants it, so nobody can bind
 *     another volunteer's client id (and its points) to their own wallet.
 *
 * The text is the SIWS format of @solana/wallet-standard-util. A text is
 * accepted only if re-creating it from its parsed fields gives the very same
 * string, so what the wallet showed is exactly what the server read.
 */
import type { SolanaSignInInput } from '@solana/wallet-standard-features';
import { createSignInMessageText, parseSignInMessageText } from '@solana/wallet-standard-util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { parseIsoTime } from './iso-time';
import { RewardsMessageError } from './message-error';
import { isChainId, isHostDomain, NONCE_PATTERN } from './message-fields';
import { isWalletAddress } from './wallet-address';

export const BIND_SIGNATURE_DOMAIN = 'tessera-bind-v1';
export const SIWS_VERSION = '1';

const CLIENT_ID = /^[0-9a-f]{64}$/;
const RUN_ID = /^[0-9a-f]{32}$/;
const STATEMENT = /^Bind Tessera client ([0-9a-f]{64}) to this wallet for run ([0-9a-f]{32})\.$/;

export interface BindMessageFields {
  /** host[:port] of the app, as the browser's location.host. */
  domain: string;
  /** The wallet, base58. */
  address: string;
  /** The tab's ed25519 public key, 64 lowercase hex. */
  clientId: string;
  /** 32 lowercase hex. */
  runId: string;
  /** The page's URL (http or https). */
  uri: string;
  /** Wallet Standard chain id, e.g. 'solana:localnet' (chain-id.ts). */
  chainId: string;
  /** From GET /api/rewards/nonce: 32 lowercase hex. */
  nonce: string;
  /** Canonical ISO times (iso-time.ts). */
  issuedAt: string;
  expirationTime: string;
}

export function bindStatement(clientId: string, runId: string): string {
  return `Bind Tessera client ${clientId} to this wallet for run ${runId}.`;
}

/** The input for the wallet's signIn (every field set, so the wallet adds nothing of its own). */
export function bindSignInInput(f: BindMessageFields): SolanaSignInInput & { domain: string; address: string } {
  return {
    domain: f.domain,
    address: f.address,
    statement: bindStatement(f.clientId, f.runId),
    uri: f.uri,
    version: SIWS_VERSION,
    chainId: f.chainId,
    nonce: f.nonce,
    issuedAt: f.issuedAt,
    expirationTime: f.expirationTime,
  };
}

/** The exact text both keys sign (and signMessage-only wallets are given). */
export function bindMessageText(f: BindMessageFields): string {
  checkFields(f);
  return createSignInMessageText(bindSignInInput(f));
}

/** Reads a binding message; throws RewardsMessageError naming the first thing that is not exactly our format. */
export function parseBindMessage(text: string): BindMessageFields {
  const parsed = parseSignInMessageText(text);
  if (parsed === null) throw new RewardsMessageError('message is not a Sign-In-With-Solana message');
  if (parsed.notBefore !== undefined || parsed.requestId !== undefined || parsed.resources !== undefined) {
    throw new RewardsMessageError('message must not carry Not Before, Request ID or Resources');
  }
  if (parsed.version !== SIWS_VERSION) throw new RewardsMessageError(`message Version must be ${SIWS_VERSION}`);
  const statement = STATEMENT.exec(parsed.statement ?? '');
  if (statement === null) throw new RewardsMessageError('message statement must be "Bind Tessera client <client id> to this wallet for run <run id>."');
  const fields: BindMessageFields = {
    domain: parsed.domain,
    address: parsed.address,
    clientId: statement[1],
    runId: statement[2],
    uri: required(parsed.uri, 'URI'),
    chainId: required(parsed.chainId, 'Chain ID'),
    nonce: required(parsed.nonce, 'Nonce'),
    issuedAt: required(parsed.issuedAt, 'Issued At'),
    expirationTime: required(parsed.expirationTime, 'Expiration Time'),
  };
  checkFields(fields);
  if (createSignInMessageText(bindSignInInput(fields)) !== text) {
    throw new RewardsMessageError('message text is not in canonical Sign-In-With-Solana form (extra lines, spacing or order)');
  }
  return fields;
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new RewardsMessageError(`message has no ${what} line`);
  return value;
}

function checkFields(f: BindMessageFields): void {
  if (!isHostDomain(f.domain)) throw new RewardsMessageError(`message domain "${f.domain}" is not a host[:port]`);
  if (!isWalletAddress(f.address)) throw new RewardsMessageError('message address is not a base58 wallet address (32 bytes)');
  if (!CLIENT_ID.test(f.clientId)) throw new RewardsMessageError('client id must be 64 lowercase hex characters');
  if (!RUN_ID.test(f.runId)) throw new RewardsMessageError('run id must be 32 lowercase hex characters');
  if (!isHttpUrl(f.uri)) throw new RewardsMessageError('message URI must be an http(s) URL');
  if (!isChainId(f.chainId)) throw new RewardsMessageError('message Chain ID must look like solana:<cluster>');
  if (!NONCE_PATTERN.test(f.nonce)) throw new RewardsMessageError('message Nonce must be 32 lowercase hex characters (from /api/rewards/nonce)');
  if (parseIsoTime(f.issuedAt) === null) throw new RewardsMessageError('message Issued At must be an ISO time as toISOString() writes it');
  if (parseIsoTime(f.expirationTime) === null) throw new RewardsMessageError('message Expiration Time must be an ISO time as toISOString() writes it');
}

function isHttpUrl(text: string): boolean {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

const TAG = new TextEncoder().encode(BIND_SIGNATURE_DOMAIN);

/** What the tab's key signs: "tessera-bind-v1" ‖ 0x00 ‖ UTF-8 text (the tag keeps it from passing as any other signature of ours). */
export function clientBindBytes(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const bytes = new Uint8Array(TAG.length + 1 + body.length);
  bytes.set(TAG, 0);
  bytes.set(body, TAG.length + 1);
  return bytes;
}

export function signClientBind(text: string, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(clientBindBytes(text), secretKey);
}

/** Strict RFC 8032 check; malformed input gives false. */
export function verifyClientBind(text: string, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed25519.verify(signature, clientBindBytes(text), publicKey, { zip215: false });
  } catch {
    return false;
  }
}

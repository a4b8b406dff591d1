/**
 * What the coordinator's claim endpoint needs from a chain, and nothing else
 * (docs/design.md §6: keep the chain client narrow so it can be swapped). Two
 * implementations share all claim logic (treasury-client.ts) and differ only
 * in how a transaction reaches a ledger: LiteSVM inside the process
 * (litesvm-chain.ts) or a Solana RPC endpoint (rpc-chain.ts).
 *
 * Amounts are always bigint base units of the treasury mint.
 */
import type { PublicKey } from '@solana/web3.js';

export interface ClaimPayment {
  /** Caller's unique id for the claim; travels on chain as memo `tessera-claim:<claimId>`. */
  claimId: string;
  /** The volunteer's wallet (owner); its associated token account is created if missing. */
  wallet: PublicKey;
  /** Base units of the mint, > 0. */
  amount: bigint;
}

export interface TreasuryAccounts {
  /** The treasury's signing key: mint authority, fee payer, owner of the token account. */
  owner: PublicKey;
  /** The treasury owner's associated token account for the mint: claims are paid from here. */
  tokenAccount: PublicKey;
}

export interface ChainClient {
  /** 'litesvm', 'devnet', 'testnet', 'mainnet-beta', or the RPC host for other endpoints. */
  readonly cluster: string;
  /** The mint's decimals, as read from the mint account. */
  readonly decimals: number;
  /** The treasury mint. */
  mint(): PublicKey;
  treasury(): TreasuryAccounts;
  /**
   * Pays one claim in ONE transaction: create the wallet's token account if
   * missing (treasury pays rent), transferChecked from the treasury, memo.
   * Resolves once the ledger has it (LiteSVM: executed and persisted; RPC:
   * confirmed). Rejects with ClaimAlreadyPaidError when this claim id was
   * already paid, InsufficientTreasuryError when the treasury holds less than
   * `amount` (nothing sent), ChainTransactionError when the ledger refused it
   * (outcome 'failed') or its confirmation timed out (outcome 'unknown'),
   * InvalidClaimError on bad input.
   */
  payClaim(payment: ClaimPayment): Promise<{ signature: string }>;
  /** Base units the wallet holds in its associated token account (0 if none). */
  tokenBalance(wallet: PublicKey): Promise<bigint>;
  /**
   * The signature of an earlier successful payment of this claim, or null.
   * For recovering claims whose outcome was lost (crash, RPC timeout).
   * LiteSVM: exact. RPC: searches the treasury token account's latest 1000
   * transactions only.
   */
  findClaimPayment(claimId: string): Promise<string | null>;
  /** A block explorer link for the signature; null where none exists (LiteSVM). */
  explorerUrl(signature: string): string | null;
  /** Releases what the client opened (LiteSVM: its database file, when it opened it). */
  close(): void;
}

/** Bad arguments to payClaim; nothing was sent. */
export class InvalidClaimError extends Error {
  override readonly name = 'InvalidClaimError';
}

/** The claim id was paid before; nothing was sent. */
export class ClaimAlreadyPaidError extends Error {
  override readonly name = 'ClaimAlreadyPaidError';
  constructor(readonly claimId: string, readonly signature: string) {
    super(`claim ${claimId} was already paid in transaction ${signature}`);
  }
}

/** The treasury token account holds less than the claim; nothing was sent. */
export class InsufficientTreasuryError extends Error {
  override readonly name = 'InsufficientTreasuryError';
  constructor(readonly requested: bigint, readonly available: bigint) {
    super(`treasury holds ${available} base units, claim needs ${requested}`);
  }
}

/**
 * The transaction did not succeed. `outcome` 'failed': the ledger refused or
 * failed it, nothing moved (logs say why). 'unknown': it was sent but not
 * confirmed in time (RPC only); it may still land, so the caller must keep
 * the claim pending and ask findClaimPayment later rather than pay again.
 */
export class ChainTransactionError extends Error {
  override readonly name = 'ChainTransactionError';
  constructor(
    message: string,
    readonly logs: readonly string[] = [],
    readonly signature: string | null = null,
    readonly outcome: 'failed' | 'unknown' = 'failed',
  ) {
    super(message);
  }
}

/** The treasury (mint or its token account) does not exist yet, or does not match the config. */
export class TreasuryNotReadyError extends Error {
  override readonly name = 'TreasuryNotReadyError';
}

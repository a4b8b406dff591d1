/**
 * The rewards service (docs/design.md §6): nonces, wallet bindings, the points
 * ledger by wallet, and claims paid in SPL tokens through the chain layer.
 *
 * A claim is decided in ONE synchronous SQLite transaction (use the nonce,
 * check the points against what the wallet may still claim, record the
 * claim as pending), and only then paid. Two claims for the same points can
 * therefore never both pass: whichever commits second already sees the
 * first one's pending row. A pending claim counts as claimed until the
 * chain's answer settles it: paid, or failed (nothing moved, points free
 * again); when the answer is lost it stays pending and resolvePending()
 * asks the chain for the claim's memo.
 */
import { randomBytes } from 'node:crypto';
import { PublicKey } from '@solana/web3.js';
import type { AccountResponse, BindRequest, BindResponse, ClaimRequest, ClaimResponse, ClientResponse, NonceResponse, RewardsConfigResponse } from '../../src/rewards/api';
import { parseBindMessage, verifyClientBind } from '../../src/rewards/bind-message';
import { chainIdForCluster } from '../../src/rewards/chain-id';
import { parseClaimMessage } from '../../src/rewards/claim-message';
import { isoTime } from '../../src/rewards/iso-time';
import { RewardsMessageError } from '../../src/rewards/message-error';
import { ChainTransactionError, ClaimAlreadyPaidError, InsufficientTreasuryError, type ChainClient } from '../chain/chain-client';
import { tokensForPoints } from '../chain/config';
import type { Logger } from '../log';
import { checkNonce, checkTimeWindow, NONCE_TTL_MS, verifyWalletSignature } from './checks';
import { RewardsDb, type ClaimRow } from './rewards-db';
import { RewardsError } from './rewards-error';
import type Database from 'better-sqlite3';

/** Unused, unexpired nonces beyond this are refused: GET /nonce must not fill the disk. */
export const MAX_LIVE_NONCES = 10_000;
/** An RPC payment not found this long after its claim was made will never land (its blockhash expired long before). */
export const PENDING_GRACE_MS = 5 * 60_000;

export interface RewardsOptions {
  /** A connection to the coordinator's database (rewards-db.ts); the caller closes it. */
  db: Database.Database;
  chain: ChainClient;
  runId: string;
  /** host[:port] that messages must name. */
  domain: string;
  /** Base units per point; pinned for the run on first open. */
  tokensPerPoint: bigint;
  now?: () => number;
  log?: Logger;
}

export class RewardsConfigError extends Error {
  override name = 'RewardsConfigError';
}

export class Rewards {
  readonly chainId: string;
  readonly tokensPerPoint: bigint;
  private readonly store: RewardsDb;
  private readonly chain: ChainClient;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Claims whose payment is under way in this process: resolvePending must not judge them. */
  private readonly paying = new Set<string>();

  constructor(private readonly opts: RewardsOptions) {
    this.store = new RewardsDb(opts.db);
    this.chain = opts.chain;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.chainId = chainIdForCluster(opts.chain.cluster);
    this.tokensPerPoint = this.pinRate(opts.tokensPerPoint);
  }

  get runId(): string {
    return this.opts.runId;
  }

  get domain(): string {
    return this.opts.domain;
  }

  /** The rate is fixed per run: a restart with another rate (or mint decimals) would pay earlier and later points differently. */
  private pinRate(tokensPerPoint: bigint): bigint {
    const pinned = this.store.runRate(this.opts.runId);
    if (pinned === null) {
      this.store.saveRunRate(this.opts.runId, tokensPerPoint, this.chain.decimals, this.now());
      return tokensPerPoint;
    }
    if (pinned.tokensPerPoint !== tokensPerPoint || pinned.decimals !== this.chain.decimals) {
      throw new RewardsConfigError(
        `run ${this.opts.runId} pays ${pinned.tokensPerPoint} base units per point at ${pinned.decimals} decimals; the chain config now says ${tokensPerPoint} at ${this.chain.decimals}. The rate is fixed per run.`,
      );
    }
    return tokensPerPoint;
  }

  config(): RewardsConfigResponse {
    return {
      runId: this.runId,
      domain: this.domain,
      chainId: this.chainId,
      cluster: this.chain.cluster,
      mint: this.chain.mint().toBase58(),
      treasury: this.chain.treasury().owner.toBase58(),
      decimals: this.chain.decimals,
      rate: this.tokensPerPoint.toString(),
      nonceTtlMs: NONCE_TTL_MS,
    };
  }

  issueNonce(): NonceResponse {
    const now = this.now();
    const nonce = randomBytes(16).toString('hex');
    this.store.transaction(() => {
      this.store.pruneNonces(now - NONCE_TTL_MS);
      if (this.store.liveNonceCount(now) >= MAX_LIVE_NONCES) throw new RewardsError('too-many-nonces', 'too many unused nonces are outstanding; try again in a few minutes');
      this.store.insertNonce(nonce, now, now + NONCE_TTL_MS);
    });
    return { nonce, issuedAt: isoTime(now), expiresAt: isoTime(now + NONCE_TTL_MS) };
  }

  // ---- binding --------------------------------------------------------------

  bind(req: BindRequest): BindResponse {
    const f = readMessage(() => parseBindMessage(req.message));
    if (f.address !== req.walletAddress) throw new RewardsError('wallet-mismatch', `the message names wallet ${f.address} but the request says ${req.walletAddress}`);
    if (f.clientId !== req.clientId) throw new RewardsError('wrong-client', `the message binds client ${f.clientId} but the request is for client ${req.clientId}`);
    this.checkContext(f.domain, f.chainId, f.runId);
    if (new URL(f.uri).host !== f.domain) throw new RewardsError('wrong-domain', `the message URI ${f.uri} is not on ${f.domain}`);
    if (!verifyWalletSignature(req.message, req.walletSignature, req.walletAddress)) {
      throw new RewardsError('bad-wallet-signature', `walletSignature is not ${req.walletAddress}'s signature of this message`);
    }
    if (!verifyClientBind(req.message, Buffer.from(req.clientSignature, 'hex'), Buffer.from(req.clientId, 'hex'))) {
      throw new RewardsError('bad-client-signature', `clientSignature is not client ${req.clientId}'s signature of "tessera-bind-v1" ‖ 0 ‖ message`);
    }
    const now = this.now();
    checkTimeWindow(f.issuedAt, f.expirationTime, now);

    const result = this.store.transaction(() => {
      checkNonce(this.store.nonce(f.nonce), f.nonce, now);
      const existing = this.store.binding(req.clientId);
      if (existing !== null && existing.wallet !== req.walletAddress) {
        throw new RewardsError('client-bound-elsewhere', `client ${req.clientId} is already bound to wallet ${existing.wallet}; a client binds to one wallet only`);
      }
      this.store.markNonceUsed(f.nonce, now, `bind:${req.clientId}`);
      if (existing !== null) return { boundAt: existing.createdAt, alreadyBound: true };
      this.store.insertBinding({
        clientId: req.clientId,
        wallet: req.walletAddress,
        runId: this.runId,
        createdAt: now,
        message: req.message,
        walletSignature: req.walletSignature,
        clientSignature: req.clientSignature,
      });
      return { boundAt: now, alreadyBound: false };
    });
    this.log('reward-bind', { clientId: req.clientId, wallet: req.walletAddress, alreadyBound: result.alreadyBound });
    return { clientId: req.clientId, wallet: req.walletAddress, runId: this.runId, boundAt: isoTime(result.boundAt), alreadyBound: result.alreadyBound };
  }

  client(clientId: string): ClientResponse {
    return { clientId, wallet: this.store.binding(clientId)?.wallet ?? null, points: this.store.clientPoints(clientId) };
  }

  // ---- the ledger by wallet -------------------------------------------------

  /** earned, claimed and claimable points of a wallet (synchronous, so a transaction can use it). */
  balance(wallet: string): { earned: number; claimed: number; claimable: number } {
    const earned = this.store.earned(wallet);
    const claimed = this.store.claimed(wallet, this.runId);
    return { earned, claimed, claimable: earned - claimed };
  }

  async account(wallet: string): Promise<AccountResponse> {
    const { earned, claimed, claimable } = this.balance(wallet);
    const claims = this.store.claimsOf(wallet).map((c) => this.summary(c));
    const tokenBalance = await this.chain.tokenBalance(new PublicKey(wallet));
    return {
      wallet,
      clients: this.store.clientsOf(wallet),
      earned,
      claimed,
      claimable,
      rate: this.tokensPerPoint.toString(),
      decimals: this.chain.decimals,
      mint: this.chain.mint().toBase58(),
      cluster: this.chain.cluster,
      chainId: this.chainId,
      tokenBalance: tokenBalance.toString(),
      claims,
    };
  }

  private summary(c: ClaimRow) {
    return {
      claimId: c.claimId,
      points: c.points,
      amount: c.amount.toString(),
      status: c.status,
      signature: c.signature,
      explorerUrl: c.signature ? this.chain.explorerUrl(c.signature) : null,
      createdAt: isoTime(c.createdAt),
    };
  }

  // ---- claims ---------------------------------------------------------------

  async claim(req: ClaimRequest): Promise<ClaimResponse> {
    const f = readMessage(() => parseClaimMessage(req.message));
    if (f.wallet !== req.walletAddress) throw new RewardsError('wallet-mismatch', `the message names wallet ${f.wallet} but the request says ${req.walletAddress}`);
    this.checkContext(f.domain, f.cluster, f.runId);
    if (!verifyWalletSignature(req.message, req.signature, req.walletAddress)) {
      throw new RewardsError('bad-wallet-signature', `signature is not ${req.walletAddress}'s signature of this claim message`);
    }
    const now = this.now();
    checkTimeWindow(f.issuedAt, f.expirationTime, now);

    const claimId = randomBytes(16).toString('hex');
    const amount = this.store.transaction(() => {
      checkNonce(this.store.nonce(f.nonce), f.nonce, now);
      const { claimable } = this.balance(f.wallet);
      if (f.points > claimable) {
        throw new RewardsError('insufficient-points', `the claim is for ${f.points} points but wallet ${f.wallet} can claim ${claimable} now`);
      }
      const tokens = tokensForPoints(f.points, this.tokensPerPoint);
      this.store.markNonceUsed(f.nonce, now, `claim:${claimId}`);
      this.store.insertClaim({ claimId, runId: this.runId, wallet: f.wallet, points: f.points, amount: tokens, nonce: f.nonce, message: req.message, walletSignature: req.signature, now });
      return tokens;
    });
    this.log('reward-claim', { claimId, wallet: f.wallet, points: f.points, amount: amount.toString() });
    const signature = await this.pay(claimId, new PublicKey(f.wallet), amount);
    return { claimId, points: f.points, amount: amount.toString(), signature, explorerUrl: this.chain.explorerUrl(signature) };
  }

  /** Pays a recorded pending claim and settles it as the chain layer's errors say (chain-client.ts). */
  private async pay(claimId: string, wallet: PublicKey, amount: bigint): Promise<string> {
    this.paying.add(claimId);
    try {
      const { signature } = await this.chain.payClaim({ claimId, wallet, amount });
      this.settle(claimId, 'paid', { signature });
      return signature;
    } catch (error) {
      if (error instanceof ClaimAlreadyPaidError) {
        this.settle(claimId, 'paid', { signature: error.signature });
        return error.signature;
      }
      const message = (error as Error).message;
      if (error instanceof InsufficientTreasuryError) {
        this.settle(claimId, 'failed', { error: message });
        throw new RewardsError('treasury-empty', `the treasury cannot pay this claim now (${message}); your points stay claimable`);
      }
      if (error instanceof ChainTransactionError && error.outcome === 'failed') {
        this.settle(claimId, 'failed', { error: message });
        throw new RewardsError('chain-failed', `the payment failed on chain and moved nothing (${message}); your points stay claimable`);
      }
      // Outcome unknown (sent, not confirmed; or an unexpected error): it may still land, so it must not be paid again.
      this.log('reward-claim-unconfirmed', { claimId, error: message });
      throw new RewardsError('payment-unconfirmed', `claim ${claimId} was sent but not confirmed (${message}); it stays pending until the chain shows whether it landed`);
    } finally {
      this.paying.delete(claimId);
    }
  }

  private settle(claimId: string, status: 'paid' | 'failed', detail: { signature?: string; error?: string }): void {
    this.store.settleClaim(claimId, status, detail, this.now());
    this.log(status === 'paid' ? 'reward-claim-paid' : 'reward-claim-failed', { claimId, ...detail });
  }

  /**
   * Settles pending claims whose payment outcome was lost (a crash between
   * recording and paying, an RPC confirmation timeout): paid when the chain
   * holds the claim's memo; failed when it does not and cannot any more
   * (LiteSVM answers exactly; on RPC only once the claim is older than
   * PENDING_GRACE_MS); else left pending.
   */
  async resolvePending(): Promise<{ paid: number; failed: number; pending: number }> {
    const counts = { paid: 0, failed: 0, pending: 0 };
    for (const claim of this.store.pendingClaims()) {
      if (this.paying.has(claim.claimId)) {
        counts.pending++;
        continue;
      }
      const signature = await this.chain.findClaimPayment(claim.claimId);
      if (signature !== null) {
        this.settle(claim.claimId, 'paid', { signature });
        counts.paid++;
      } else if (this.chain.cluster === 'litesvm' || this.now() - claim.createdAt > PENDING_GRACE_MS) {
        this.settle(claim.claimId, 'failed', { error: 'no payment with this claim id exists on chain' });
        counts.failed++;
      } else {
        counts.pending++;
      }
    }
    return counts;
  }

  /** Every claim (tests and audits). */
  claims(): ClaimRow[] {
    return this.store.allClaims();
  }

  private checkContext(domain: string, chainId: string, runId: string): void {
    if (domain !== this.domain) throw new RewardsError('wrong-domain', `the message is for ${domain}, this server is ${this.domain}`);
    if (chainId !== this.chainId) throw new RewardsError('wrong-cluster', `the message is for ${chainId}, this server pays on ${this.chainId} (${this.chain.cluster})`);
    if (runId !== this.runId) throw new RewardsError('wrong-run', `the message is for run ${runId}, this server runs ${this.runId}`);
  }
}

function readMessage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RewardsMessageError) throw new RewardsError('bad-message', error.message);
    throw error;
  }
}

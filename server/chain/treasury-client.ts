/**
 * ChainClient over any ChainBackend: the claim logic both ledgers share.
 * Checks before sending (duplicate claim id, treasury balance) so that the
 * common refusals cost no fee and give a precise error; the token program
 * still enforces the balance on chain.
 */
import { Keypair, PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import type { ChainBackend } from './chain-backend';
import {
  ClaimAlreadyPaidError,
  InsufficientTreasuryError,
  TreasuryNotReadyError,
  type ChainClient,
  type ClaimPayment,
  type TreasuryAccounts,
} from './chain-client';
import { buildClaimInstructions, claimIdSchema, claimMemo, parseClaimPayment } from './claim-transaction';
import { readMint, readTokenAmount, treasuryMintAddress } from './token-accounts';

export class TreasuryChainClient implements ChainClient {
  readonly cluster: string;
  private readonly accounts: TreasuryAccounts;
  /** Claims run one at a time: a balance check and a duplicate check only hold if nothing pays in between. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly backend: ChainBackend,
    private readonly treasuryKey: Keypair,
    private readonly mintAddress: PublicKey,
    readonly decimals: number,
  ) {
    this.cluster = backend.cluster;
    this.accounts = {
      owner: treasuryKey.publicKey,
      tokenAccount: getAssociatedTokenAddressSync(mintAddress, treasuryKey.publicKey),
    };
  }

  mint(): PublicKey {
    return this.mintAddress;
  }

  treasury(): TreasuryAccounts {
    return this.accounts;
  }

  payClaim(payment: ClaimPayment): Promise<{ signature: string }> {
    const run = this.queue.then(() => this.payNow(payment));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async payNow(input: ClaimPayment): Promise<{ signature: string }> {
    const payment = parseClaimPayment(input);
    const earlier = await this.findClaimPayment(payment.claimId);
    if (earlier) throw new ClaimAlreadyPaidError(payment.claimId, earlier);
    const available = readTokenAmount(await this.backend.getAccount(this.accounts.tokenAccount));
    if (available < payment.amount) throw new InsufficientTreasuryError(payment.amount, available);
    const instructions = buildClaimInstructions({
      ...payment,
      mint: this.mintAddress,
      decimals: this.decimals,
      treasury: this.treasuryKey.publicKey,
    });
    const signature = await this.backend.send(instructions, [this.treasuryKey]);
    return { signature };
  }

  async tokenBalance(wallet: PublicKey): Promise<bigint> {
    const account = getAssociatedTokenAddressSync(this.mintAddress, wallet, true);
    return readTokenAmount(await this.backend.getAccount(account));
  }

  findClaimPayment(claimId: string): Promise<string | null> {
    const id = claimIdSchema.parse(claimId);
    return this.backend.findMemo(this.accounts.tokenAccount, claimMemo(id));
  }

  explorerUrl(signature: string): string | null {
    return this.backend.explorerUrl(signature);
  }

  close(): void {
    this.backend.close();
  }
}

/**
 * The client for the treasury owned by `treasuryKey` on this backend. Fails
 * with TreasuryNotReadyError when the mint has not been set up, or its
 * decimals differ from what the config (and so the points rate) assumes.
 */
export async function openTreasuryClient(
  backend: ChainBackend,
  treasuryKey: Keypair,
  expectedDecimals: number,
): Promise<TreasuryChainClient> {
  const mint = await treasuryMintAddress(treasuryKey.publicKey);
  const state = readMint(await backend.getAccount(mint));
  if (!state) {
    throw new TreasuryNotReadyError(
      `no treasury mint ${mint.toBase58()} on ${backend.cluster} for treasury ${treasuryKey.publicKey.toBase58()}: run scripts/treasury-setup.ts first`,
    );
  }
  if (state.decimals !== expectedDecimals) {
    throw new TreasuryNotReadyError(
      `treasury mint ${mint.toBase58()} has ${state.decimals} decimals but the chain config says ${expectedDecimals}`,
    );
  }
  return new TreasuryChainClient(backend, treasuryKey, mint, state.decimals);
}

/**
 * Creates the treasury on a ledger: the mint (at an address derived from the
 * treasury key, the treasury as mint authority, no freeze authority), the
 * treasury's associated token account, and the whole supply minted into it,
 * all in ONE transaction so a ledger never holds half a treasury. Running it
 * again changes nothing and reports the existing treasury.
 */
import { Keypair, SystemProgram } from '@solana/web3.js';
import {
  MINT_SIZE,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { z } from 'zod';
import type { ChainBackend } from './chain-backend';
import { TreasuryNotReadyError } from './chain-client';
import { U64_MAX } from './claim-transaction';
import { readMint, readTokenAmount, TREASURY_MINT_SEED, treasuryMintAddress } from './token-accounts';

export const treasurySetupSchema = z.object({
  decimals: z.number().int().min(0).max(18),
  supply: z.bigint().refine((value) => value > 0n && value <= U64_MAX, 'supply must be > 0 and fit in u64 (base units)'),
});
export type TreasurySetupOptions = z.infer<typeof treasurySetupSchema>;

export interface TreasuryReport {
  cluster: string;
  created: boolean;
  treasury: string;
  mint: string;
  treasuryTokenAccount: string;
  decimals: number;
  /** Base units, as decimal strings (JSON has no bigint). */
  supply: string;
  treasuryBalance: string;
  treasuryLamports: string;
}

export async function setupTreasury(backend: ChainBackend, treasury: Keypair, options: TreasurySetupOptions): Promise<TreasuryReport> {
  const { decimals, supply } = treasurySetupSchema.parse(options);
  const owner = treasury.publicKey;
  const mint = await treasuryMintAddress(owner);
  const tokenAccount = getAssociatedTokenAddressSync(mint, owner);
  const existing = readMint(await backend.getAccount(mint));
  let created = false;

  if (existing && existing.decimals !== decimals) {
    throw new TreasuryNotReadyError(
      `treasury mint ${mint.toBase58()} already exists with ${existing.decimals} decimals, not ${decimals}; keep decimals at ${existing.decimals} or use another treasury key`,
    );
  }
  if (!existing) {
    const rent = await backend.rentExemptMinimum(MINT_SIZE);
    const payer = await backend.getAccount(owner);
    // Mint rent + the token account's rent + fees; a clear message beats the runtime's.
    if (!payer || payer.lamports < rent * 3n) {
      throw new TreasuryNotReadyError(
        `treasury ${owner.toBase58()} on ${backend.cluster} holds ${payer?.lamports ?? 0n} lamports; fund it with at least ${rent * 3n} lamports of SOL first`,
      );
    }
    await backend.send(
      [
        SystemProgram.createAccountWithSeed({
          fromPubkey: owner,
          basePubkey: owner,
          seed: TREASURY_MINT_SEED,
          newAccountPubkey: mint,
          lamports: Number(rent),
          space: MINT_SIZE,
          programId: TOKEN_PROGRAM_ID,
        }),
        createInitializeMint2Instruction(mint, decimals, owner, null),
        createAssociatedTokenAccountIdempotentInstruction(owner, tokenAccount, owner, mint),
        createMintToInstruction(mint, tokenAccount, owner, supply),
      ],
      [treasury],
    );
    created = true;
  }
  return treasuryReport(backend, treasury, created);
}

export async function treasuryReport(backend: ChainBackend, treasury: Keypair, created = false): Promise<TreasuryReport> {
  const owner = treasury.publicKey;
  const mint = await treasuryMintAddress(owner);
  const tokenAccount = getAssociatedTokenAddressSync(mint, owner);
  const state = readMint(await backend.getAccount(mint));
  if (!state) throw new TreasuryNotReadyError(`no treasury mint ${mint.toBase58()} on ${backend.cluster}`);
  const balance = readTokenAmount(await backend.getAccount(tokenAccount));
  const lamports = (await backend.getAccount(owner))?.lamports ?? 0n;
  return {
    cluster: backend.cluster,
    created,
    treasury: owner.toBase58(),
    mint: mint.toBase58(),
    treasuryTokenAccount: tokenAccount.toBase58(),
    decimals: state.decimals,
    supply: state.supply.toString(),
    treasuryBalance: balance.toString(),
    treasuryLamports: lamports.toString(),
  };
}

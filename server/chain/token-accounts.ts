/**
 * Where the treasury's accounts live and how to read them, the same on
 * every ledger. The mint's address is derived from the treasury key
 * (createAccountWithSeed), so a treasury key alone identifies its mint: the
 * set-up is idempotent without storing the mint anywhere, and an RPC config
 * needs no mint address.
 */
import { PublicKey } from '@solana/web3.js';
import { AccountLayout, ACCOUNT_SIZE, MINT_SIZE, MintLayout, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import type { ChainAccount } from './chain-backend';

export const TREASURY_MINT_SEED = 'tessera-mint-v1';

export function treasuryMintAddress(treasury: PublicKey): Promise<PublicKey> {
  return PublicKey.createWithSeed(treasury, TREASURY_MINT_SEED, TOKEN_PROGRAM_ID);
}

export interface MintState {
  decimals: number;
  supply: bigint;
  mintAuthority: PublicKey | null;
}

/** null when the account is not an initialized SPL Token mint. */
export function readMint(account: ChainAccount | null): MintState | null {
  if (!account || !account.owner.equals(TOKEN_PROGRAM_ID) || account.data.length !== MINT_SIZE) return null;
  const mint = MintLayout.decode(account.data);
  if (!mint.isInitialized) return null;
  return { decimals: mint.decimals, supply: mint.supply, mintAuthority: mint.mintAuthorityOption ? mint.mintAuthority : null };
}

/** Token amount of an SPL Token account; 0 when the account does not exist. */
export function readTokenAmount(account: ChainAccount | null): bigint {
  if (!account) return 0n;
  if (!account.owner.equals(TOKEN_PROGRAM_ID) || account.data.length < ACCOUNT_SIZE) {
    throw new Error('account is not an SPL Token account');
  }
  return AccountLayout.decode(account.data.subarray(0, ACCOUNT_SIZE)).amount;
}

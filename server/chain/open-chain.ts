/**
 * From a parsed chain config to a ready ChainClient. The embedded LiteSVM
 * ledger sets its treasury up on first open (it is a local dev ledger and
 * should just work); a real cluster never does so implicitly, because
 * set-up spends the operator's SOL: run scripts/treasury-setup.ts.
 */
import type Database from 'better-sqlite3';
import type { Keypair } from '@solana/web3.js';
import type { ChainBackend } from './chain-backend';
import type { ChainConfig } from './config';
import { openLiteSvmBackend } from './litesvm-chain';
import { openRpcBackend } from './rpc-chain';
import { openTreasuryClient, type TreasuryChainClient } from './treasury-client';
import { setupTreasury } from './treasury-setup';
import { readMint, treasuryMintAddress } from './token-accounts';

export interface OpenChainOptions {
  /** LiteSVM only: an open database to keep the ledger in instead of config.db. */
  db?: Database.Database;
}

export function openChainBackend(config: ChainConfig, options: OpenChainOptions = {}): { backend: ChainBackend; treasury: Keypair } {
  if (config.kind === 'litesvm') return openLiteSvmBackend({ db: options.db ?? config.db });
  return openRpcBackend({ url: config.url, keypairPath: config.keypairPath, cluster: config.cluster });
}

export async function openChain(config: ChainConfig, options: OpenChainOptions = {}): Promise<TreasuryChainClient> {
  const { backend, treasury } = openChainBackend(config, options);
  try {
    if (config.kind === 'litesvm') {
      const mint = await treasuryMintAddress(treasury.publicKey);
      if (!readMint(await backend.getAccount(mint))) {
        await setupTreasury(backend, treasury, { decimals: config.decimals, supply: config.supply });
      }
    }
    return await openTreasuryClient(backend, treasury, config.decimals);
  } catch (error) {
    backend.close();
    throw error;
  }
}

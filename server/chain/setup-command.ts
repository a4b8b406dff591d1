/**
 * The treasury set-up command's logic (scripts/treasury-setup.ts is its thin
 * entry point):
 *
 *   treasury-setup [--db PATH] [--decimals 6] [--supply BASE_UNITS]
 *   treasury-setup --rpc URL --keypair PATH [--cluster NAME] [--decimals 6] [--supply BASE_UNITS]
 *
 * Without --rpc it sets up the embedded LiteSVM ledger in --db (default
 * .tessera/chain.sqlite). --supply is in base units (10^decimals per token;
 * default 10^9 tokens). Running it again reports the existing treasury.
 */
import { parseArgs } from 'node:util';
import { parseChainConfig, type ChainConfig } from './config';
import { openChainBackend } from './open-chain';
import { setupTreasury, type TreasuryReport } from './treasury-setup';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseSetupArgs(argv: string[]): ChainConfig {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        db: { type: 'string' },
        rpc: { type: 'string' },
        keypair: { type: 'string' },
        cluster: { type: 'string' },
        decimals: { type: 'string' },
        supply: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.decimals !== undefined && !/^[0-9]+$/.test(values.decimals)) {
    throw new UsageError(`--decimals must be a whole number, got ${values.decimals}`);
  }
  const common = {
    decimals: values.decimals === undefined ? undefined : Number(values.decimals),
    supply: values.supply,
  };
  if (values.rpc === undefined) {
    if (values.keypair !== undefined || values.cluster !== undefined) throw new UsageError('--keypair and --cluster need --rpc URL');
    return parseChainConfig({ kind: 'litesvm', db: values.db, ...common });
  }
  if (values.db !== undefined) throw new UsageError('--db is for the embedded LiteSVM ledger; leave it out with --rpc');
  return parseChainConfig({ kind: 'rpc', url: values.rpc, keypairPath: values.keypair, cluster: values.cluster, ...common });
}

export async function runTreasurySetup(argv: string[]): Promise<TreasuryReport> {
  const config = parseSetupArgs(argv);
  const { backend, treasury } = openChainBackend(config);
  try {
    return await setupTreasury(backend, treasury, { decimals: config.decimals, supply: config.supply });
  } finally {
    backend.close();
  }
}

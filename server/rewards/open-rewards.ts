/**
 * From the coordinator's flags to a ready Rewards service: the chain (the
 * embedded LiteSVM ledger next to the run database unless --chain names a
 * chain config JSON), a connection to the run database, and the pending
 * claims of an earlier process settled before the first request.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openChain } from '../chain/open-chain';
import { parseChainConfig } from '../chain/config';
import type { Logger } from '../log';
import { Rewards } from './rewards';
import { openRewardsDatabase } from './rewards-db';

export interface OpenRewardsOptions {
  /** The coordinator's database (Store.open has created it). */
  runDbPath: string;
  /** A chain config JSON file (server/chain/config.ts); default: LiteSVM in chain.sqlite beside the run database. */
  chainConfigPath?: string;
  runId: string;
  domain: string;
  log: Logger;
  now?: () => number;
}

export function loadChainConfig(runDbPath: string, chainConfigPath: string | undefined) {
  if (chainConfigPath === undefined) return parseChainConfig({ kind: 'litesvm', db: join(dirname(runDbPath), 'chain.sqlite') });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(chainConfigPath, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the chain config ${chainConfigPath}: ${(error as Error).message}`);
  }
  return parseChainConfig(json);
}

/** The domain browsers see for host:port (location.host): default ports dropped, IPv6 bracketed, wildcard addresses as localhost. */
export function defaultDomain(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return port === 80 || port === 443 ? name : `${name}:${port}`;
}

export async function openRewards(o: OpenRewardsOptions): Promise<{ rewards: Rewards; close(): void }> {
  const config = loadChainConfig(o.runDbPath, o.chainConfigPath);
  const chain = await openChain(config);
  let db: ReturnType<typeof openRewardsDatabase> | undefined;
  try {
    db = openRewardsDatabase(o.runDbPath);
    const rewards = new Rewards({ db, chain, runId: o.runId, domain: o.domain, tokensPerPoint: config.tokensPerPoint, log: o.log, now: o.now });
    const settled = await rewards.resolvePending();
    const c = rewards.config();
    o.log('rewards-ready', { cluster: c.cluster, chainId: c.chainId, domain: c.domain, mint: c.mint, rate: c.rate, decimals: c.decimals, ...settled });
    const opened = db;
    return {
      rewards,
      close() {
        opened.close();
        chain.close();
      },
    };
  } catch (error) {
    db?.close();
    chain.close();
    throw error;
  }
}

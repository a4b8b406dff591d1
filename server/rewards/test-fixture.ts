/** A Rewards service over a real coordinator store and a LiteSVM chain in a temp folder, with real keys (tests only). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Keypair } from '@solana/web3.js';
import bs58 from 'bs58';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { BindRequest, ClaimRequest } from '../../src/rewards/api';
import { bindMessageText, signClientBind, type BindMessageFields } from '../../src/rewards/bind-message';
import { claimMessageText, type ClaimMessageFields } from '../../src/rewards/claim-message';
import { openChain } from '../chain/open-chain';
import { parseChainConfig } from '../chain/config';
import type { TreasuryChainClient } from '../chain/treasury-client';
import { memoryLogger } from '../log';
import { Store } from '../store';
import { Rewards } from './rewards';
import { openRewardsDatabase } from './rewards-db';

export const RUN_ID = '0123456789abcdef0123456789abcdef';
export const DOMAIN = 'localhost:8080';
export const RATE = 1_234_567n;
export const SUPPLY = 10n ** 15n;

export class TestClock {
  constructor(public t = Date.UTC(2025, 0, 1, 12)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Tab {
  clientId: string;
  secretKey: Uint8Array;
}

export function makeTab(): Tab {
  const { secretKey, publicKey } = ed25519.keygen();
  return { clientId: Buffer.from(publicKey).toString('hex'), secretKey };
}

/** What a wallet's signMessage gives: ed25519 over the UTF-8 bytes, here base58. */
export function walletSign(wallet: Keypair, text: string): string {
  return bs58.encode(ed25519.sign(new TextEncoder().encode(text), wallet.secretKey.slice(0, 32)));
}

export class RewardsFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'tessera-rewards-'));
  readonly clock = new TestClock();
  readonly log = memoryLogger();
  store!: Store;
  db!: Database.Database;
  chain!: TreasuryChainClient;
  rewards!: Rewards;
  private step = 0;

  get runDb(): string {
    return join(this.dir, 'run.sqlite');
  }

  /** Opens (or reopens, after close) the store, the chain and the service from the files in `dir`. */
  async open(rate = RATE): Promise<this> {
    this.store = Store.open(this.runDb);
    this.chain = await openChain(parseChainConfig({ kind: 'litesvm', db: join(this.dir, 'chain.sqlite'), decimals: 6, supply: SUPPLY.toString() }));
    this.db = openRewardsDatabase(this.runDb);
    this.rewards = new Rewards({ db: this.db, chain: this.chain, runId: RUN_ID, domain: DOMAIN, tokensPerPoint: rate, now: this.clock.now, log: this.log });
    return this;
  }

  close(): void {
    this.db.close();
    this.chain.close();
    this.store.close();
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A ledger row for the client, as the coordinator writes them (one per agreed update). */
  seedPoints(clientId: string, amount: number): void {
    this.db.prepare('INSERT INTO points (client_id, step, amount, created_at) VALUES (?, ?, ?, ?)').run(clientId, this.step++, amount, this.clock.now());
  }

  bindFields(wallet: Keypair, tab: Tab, over: Partial<BindMessageFields> = {}): BindMessageFields {
    const n = this.rewards.issueNonce();
    return {
      domain: DOMAIN,
      address: wallet.publicKey.toBase58(),
      clientId: tab.clientId,
      runId: RUN_ID,
      uri: `http://${DOMAIN}/#/rewards`,
      chainId: 'solana:localnet',
      nonce: n.nonce,
      issuedAt: n.issuedAt,
      expirationTime: n.expiresAt,
      ...over,
    };
  }

  /** A bind request signed properly by both keys over the (possibly altered) fields. */
  bindRequest(wallet: Keypair, tab: Tab, over: Partial<BindMessageFields> = {}): BindRequest {
    const message = bindMessageText(this.bindFields(wallet, tab, over));
    return {
      message,
      walletAddress: wallet.publicKey.toBase58(),
      walletSignature: walletSign(wallet, message),
      clientId: tab.clientId,
      clientSignature: Buffer.from(signClientBind(message, tab.secretKey)).toString('hex'),
    };
  }

  claimRequest(wallet: Keypair, points: number, over: Partial<ClaimMessageFields> = {}): ClaimRequest {
    const n = this.rewards.issueNonce();
    const message = claimMessageText({
      runId: RUN_ID,
      wallet: wallet.publicKey.toBase58(),
      points,
      nonce: n.nonce,
      issuedAt: n.issuedAt,
      expirationTime: n.expiresAt,
      domain: DOMAIN,
      cluster: 'solana:localnet',
      ...over,
    });
    return { message, walletAddress: wallet.publicKey.toBase58(), signature: walletSign(wallet, message) };
  }

  bindingCount(): number {
    return this.db.prepare('SELECT COUNT(*) FROM reward_bindings').pluck().get() as number;
  }
}

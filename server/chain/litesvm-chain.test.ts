import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Keypair } from '@solana/web3.js';
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import type { LiteSVM } from 'litesvm';
import { ChainTransactionError, ClaimAlreadyPaidError, InsufficientTreasuryError, InvalidClaimError, TreasuryNotReadyError } from './chain-client';
import { parseChainConfig } from './config';
import { openLiteSvmBackend } from './litesvm-chain';
import { openChain } from './open-chain';
import { openTreasuryClient } from './treasury-client';
import { setupTreasury } from './treasury-setup';

const SUPPLY = 1_000_000_000n;
let dir: string;
let dbPath: string;
const config = () => parseChainConfig({ kind: 'litesvm', db: dbPath, decimals: 6, supply: SUPPLY.toString() });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-chain-'));
  dbPath = join(dir, 'chain.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function logsOf(svm: LiteSVM, signature: string): string[] {
  const tx = svm.getTransaction(signature as Parameters<LiteSVM['getTransaction']>[0]);
  if (!tx) throw new Error(`no transaction ${signature}`);
  return 'err' in tx ? tx.meta().logs() : tx.logs();
}

describe('LiteSVM chain', () => {
  it('sets the treasury up on first open with the whole supply', async () => {
    const chain = await openChain(config());
    expect(chain.cluster).toBe('litesvm');
    expect(chain.decimals).toBe(6);
    expect(await chain.tokenBalance(chain.treasury().owner)).toBe(SUPPLY);
    expect(chain.treasury().tokenAccount.equals(getAssociatedTokenAddressSync(chain.mint(), chain.treasury().owner))).toBe(true);
    expect(chain.explorerUrl('x')).toBeNull();
    chain.close();
  });

  it('pays claims, survives a restart with identical balances, and pays again after it', async () => {
    const a = Keypair.generate().publicKey;
    const b = Keypair.generate().publicKey;
    const chain = await openChain(config());
    const mint = chain.mint();
    const owner = chain.treasury().owner;
    const paid = [
      await chain.payClaim({ claimId: 'c1', wallet: a, amount: 1_500_000n }),
      await chain.payClaim({ claimId: 'c2', wallet: b, amount: 2_000_001n }),
      await chain.payClaim({ claimId: 'c3', wallet: a, amount: 3n }),
    ];
    expect(new Set(paid.map((p) => p.signature)).size).toBe(3);
    expect(await chain.tokenBalance(a)).toBe(1_500_003n);
    expect(await chain.tokenBalance(b)).toBe(2_000_001n);
    expect(await chain.tokenBalance(owner)).toBe(SUPPLY - 3_500_004n);
    expect(await chain.findClaimPayment('c2')).toBe(paid[1].signature);
    expect(await chain.findClaimPayment('c9')).toBeNull();
    chain.close();

    const reopened = await openChain(config());
    expect(reopened.mint().equals(mint)).toBe(true);
    expect(reopened.treasury().owner.equals(owner)).toBe(true);
    expect(await reopened.tokenBalance(a)).toBe(1_500_003n);
    expect(await reopened.tokenBalance(b)).toBe(2_000_001n);
    expect(await reopened.tokenBalance(owner)).toBe(SUPPLY - 3_500_004n);
    expect(await reopened.findClaimPayment('c1')).toBe(paid[0].signature);
    await expect(reopened.payClaim({ claimId: 'c1', wallet: a, amount: 1n })).rejects.toThrow(ClaimAlreadyPaidError);

    const fourth = await reopened.payClaim({ claimId: 'c4', wallet: b, amount: 10n });
    expect(await reopened.tokenBalance(b)).toBe(2_000_011n);
    expect(await reopened.tokenBalance(owner)).toBe(SUPPLY - 3_500_014n);
    expect(await reopened.findClaimPayment('c4')).toBe(fourth.signature);
    reopened.close();
  });

  it('carries the memo and creates the token account in the same transaction', async () => {
    const { backend, treasury } = openLiteSvmBackend({ db: dbPath });
    await setupTreasury(backend, treasury, { decimals: 6, supply: SUPPLY });
    const chain = await openTreasuryClient(backend, treasury, 6);
    const wallet = Keypair.generate().publicKey;
    const { signature } = await chain.payClaim({ claimId: 'memo-check', wallet, amount: 42n });
    const logs = logsOf(backend.svm, signature);
    expect(logs).toContain('Program log: Memo (len 24)');
    expect(logs).toContain('Program log: tessera-claim:memo-check');
    expect(logs).toContain('Program log: CreateIdempotent');
    // One transaction, three top-level instructions: ATA program, token program, memo program.
    expect(logs.filter((line) => line.endsWith(' invoke [1]'))).toEqual([
      'Program ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL invoke [1]',
      'Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [1]',
      'Program MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr invoke [1]',
    ]);
    expect(await chain.tokenBalance(wallet)).toBe(42n);
    chain.close();
  });

  it('refuses a claim larger than the treasury and moves nothing', async () => {
    const chain = await openChain(config());
    const wallet = Keypair.generate().publicKey;
    await chain.payClaim({ claimId: 'small', wallet, amount: 100n });
    const lamportsBefore = await treasuryLamports(chain.treasury().owner);
    const error = await chain.payClaim({ claimId: 'big', wallet, amount: SUPPLY - 99n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientTreasuryError);
    expect((error as InsufficientTreasuryError).requested).toBe(SUPPLY - 99n);
    expect((error as InsufficientTreasuryError).available).toBe(SUPPLY - 100n);
    expect((error as Error).message).toBe(`treasury holds ${SUPPLY - 100n} base units, claim needs ${SUPPLY - 99n}`);
    expect(await chain.tokenBalance(wallet)).toBe(100n);
    expect(await chain.tokenBalance(chain.treasury().owner)).toBe(SUPPLY - 100n);
    expect(await treasuryLamports(chain.treasury().owner)).toBe(lamportsBefore); // not even a fee
    expect(await chain.findClaimPayment('big')).toBeNull();
    // Exactly the remaining balance still works.
    await chain.payClaim({ claimId: 'rest', wallet, amount: SUPPLY - 100n });
    expect(await chain.tokenBalance(chain.treasury().owner)).toBe(0n);
    expect(await chain.tokenBalance(wallet)).toBe(SUPPLY);
    chain.close();

    async function treasuryLamports(key: typeof wallet): Promise<bigint> {
      const { backend } = openLiteSvmBackend({ db: dbPath });
      const lamports = (await backend.getAccount(key))?.lamports ?? -1n;
      backend.close();
      return lamports;
    }
  });

  it('reports a transaction the token program rejects, moves no tokens, and keeps the database equal to the ledger', async () => {
    const { backend, treasury } = openLiteSvmBackend({ db: dbPath });
    await setupTreasury(backend, treasury, { decimals: 6, supply: SUPPLY });
    const chain = await openTreasuryClient(backend, treasury, 6);
    const wallet = Keypair.generate().publicKey;
    await chain.payClaim({ claimId: 'open-ata', wallet, amount: 5n });
    const source = chain.treasury().tokenAccount;
    const destination = getAssociatedTokenAddressSync(chain.mint(), wallet);
    // Bypasses the client's balance check, so the token program itself must refuse it.
    const error = await backend
      .send([createTransferCheckedInstruction(source, chain.mint(), destination, treasury.publicKey, SUPPLY, 6)], [treasury])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainTransactionError);
    expect((error as Error).message).toMatch(/failed on LiteSVM: Program log: Error: insufficient funds/);
    expect((error as ChainTransactionError).logs.length).toBeGreaterThan(0);
    expect(await chain.tokenBalance(wallet)).toBe(5n);
    expect(await chain.tokenBalance(treasury.publicKey)).toBe(SUPPLY - 5n);
    const lamportsInLedger = (await backend.getAccount(treasury.publicKey))?.lamports;
    chain.close();

    const reopened = openLiteSvmBackend({ db: dbPath });
    expect((await reopened.backend.getAccount(treasury.publicKey))?.lamports).toBe(lamportsInLedger);
    reopened.backend.close();
  });

  it('rejects bad claims before touching the ledger', async () => {
    const chain = await openChain(config());
    const wallet = Keypair.generate().publicKey;
    await expect(chain.payClaim({ claimId: 'bad id!', wallet, amount: 1n })).rejects.toThrow(InvalidClaimError);
    await expect(chain.payClaim({ claimId: 'zero', wallet, amount: 0n })).rejects.toThrow(/amount must be > 0/);
    expect(await chain.tokenBalance(wallet)).toBe(0n);
    expect(await chain.tokenBalance(chain.treasury().owner)).toBe(SUPPLY);
    // The queue survives rejections.
    await chain.payClaim({ claimId: 'after', wallet, amount: 7n });
    expect(await chain.tokenBalance(wallet)).toBe(7n);
    chain.close();
  });

  it('serializes concurrent payments of the same claim: one pays, the other is refused', async () => {
    const chain = await openChain(config());
    const wallet = Keypair.generate().publicKey;
    const results = await Promise.allSettled([
      chain.payClaim({ claimId: 'twice', wallet, amount: 9n }),
      chain.payClaim({ claimId: 'twice', wallet, amount: 9n }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ClaimAlreadyPaidError);
    expect(await chain.tokenBalance(wallet)).toBe(9n);
    chain.close();
  });

  it('set-up is idempotent and refuses other decimals for an existing mint', async () => {
    const { backend, treasury } = openLiteSvmBackend({ db: dbPath });
    const first = await setupTreasury(backend, treasury, { decimals: 6, supply: SUPPLY });
    expect(first.created).toBe(true);
    expect(first.treasuryBalance).toBe(SUPPLY.toString());
    expect(first.supply).toBe(SUPPLY.toString());
    const second = await setupTreasury(backend, treasury, { decimals: 6, supply: 5n });
    expect(second).toEqual({ ...first, created: false, treasuryLamports: second.treasuryLamports });
    expect(second.treasuryBalance).toBe(SUPPLY.toString());
    await expect(setupTreasury(backend, treasury, { decimals: 9, supply: SUPPLY })).rejects.toThrow(/already exists with 6 decimals, not 9/);
    await expect(openTreasuryClient(backend, treasury, 9)).rejects.toThrow(TreasuryNotReadyError);
    backend.close();
  });

  it('refuses to open a client before set-up', async () => {
    const { backend, treasury } = openLiteSvmBackend({ db: dbPath });
    await expect(openTreasuryClient(backend, treasury, 6)).rejects.toThrow(/no treasury mint .* run scripts\/treasury-setup.ts first/);
    backend.close();
  });

  it('shares a caller-owned database handle without closing it', async () => {
    const db = new Database(dbPath);
    db.exec('CREATE TABLE coordinator_thing (x INTEGER)');
    const chain = await openChain(config(), { db });
    await chain.payClaim({ claimId: 'shared', wallet: Keypair.generate().publicKey, amount: 1n });
    chain.close();
    expect(db.open).toBe(true);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['chain_accounts', 'chain_memos', 'chain_meta', 'coordinator_thing']);
    db.close();
  });
});

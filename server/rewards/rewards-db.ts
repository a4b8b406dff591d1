/**
 * The rewards tables, kept in the coordinator's SQLite file beside the
 * points ledger (server/store.ts) so that one transaction can read the
 * ledger, use up a nonce and record a claim. The coordinator's Store owns
 * its own connection; this is a second connection to the same file (WAL:
 * both see every committed write; better-sqlite3 is synchronous, so inside
 * one process a transaction here never interleaves with one there).
 */
import Database from 'better-sqlite3';
import type { ClaimStatus } from '../../src/rewards/api';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reward_runs (
  run_id TEXT PRIMARY KEY,
  tokens_per_point TEXT NOT NULL,
  decimals INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reward_nonces (
  nonce TEXT PRIMARY KEY,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  used_for TEXT
);
CREATE TABLE IF NOT EXISTS reward_bindings (
  client_id TEXT PRIMARY KEY,
  wallet TEXT NOT NULL,
  run_id TEXT NOT NULL,
  message TEXT NOT NULL,
  wallet_signature TEXT NOT NULL,
  client_signature TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reward_bindings_wallet ON reward_bindings (wallet);
CREATE TABLE IF NOT EXISTS reward_claims (
  claim_id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  wallet TEXT NOT NULL,
  points INTEGER NOT NULL CHECK (points > 0),
  amount TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
  signature TEXT,
  error TEXT,
  nonce TEXT NOT NULL UNIQUE,
  message TEXT NOT NULL,
  wallet_signature TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  settled_at INTEGER
);
CREATE INDEX IF NOT EXISTS reward_claims_wallet ON reward_claims (wallet);
`;

export class RewardsDbError extends Error {
  override name = 'RewardsDbError';
}

export interface NonceRow {
  nonce: string;
  issuedAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface BindingRow {
  clientId: string;
  wallet: string;
  runId: string;
  createdAt: number;
}

export interface ClaimRow {
  claimId: string;
  runId: string;
  wallet: string;
  points: number;
  amount: bigint;
  status: ClaimStatus;
  signature: string | null;
  error: string | null;
  createdAt: number;
}

export interface NewClaim {
  claimId: string;
  runId: string;
  wallet: string;
  points: number;
  amount: bigint;
  nonce: string;
  message: string;
  walletSignature: string;
  now: number;
}

/** Opens a connection to the coordinator's database file for the rewards tables (the caller closes it). */
export function openRewardsDatabase(path: string): Database.Database {
  const db = new Database(path, { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Another process (a second coordinator by mistake, an operator's sqlite3) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  return db;
}

type Raw = Record<string, unknown>;

function claimRow(r: Raw): ClaimRow {
  return {
    claimId: r.claim_id as string,
    runId: r.run_id as string,
    wallet: r.wallet as string,
    points: r.points as number,
    amount: BigInt(r.amount as string),
    status: r.status as ClaimStatus,
    signature: r.signature as string | null,
    error: r.error as string | null,
    createdAt: r.created_at as number,
  };
}

export class RewardsDb {
  constructor(readonly db: Database.Database) {
    const hasLedger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'points'").get();
    if (!hasLedger) throw new RewardsDbError('the database has no points ledger: open it with Store.open first');
    db.exec(SCHEMA);
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE: the read-check-write cannot race another writer). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- the run's rate -------------------------------------------------------

  runRate(runId: string): { tokensPerPoint: bigint; decimals: number } | null {
    const row = this.db.prepare('SELECT tokens_per_point, decimals FROM reward_runs WHERE run_id = ?').get(runId) as Raw | undefined;
    return row ? { tokensPerPoint: BigInt(row.tokens_per_point as string), decimals: row.decimals as number } : null;
  }

  saveRunRate(runId: string, tokensPerPoint: bigint, decimals: number, now: number): void {
    this.db.prepare('INSERT INTO reward_runs (run_id, tokens_per_point, decimals, created_at) VALUES (?, ?, ?, ?)').run(runId, tokensPerPoint.toString(), decimals, now);
  }

  // ---- nonces ---------------------------------------------------------------

  insertNonce(nonce: string, issuedAt: number, expiresAt: number): void {
    this.db.prepare('INSERT INTO reward_nonces (nonce, issued_at, expires_at) VALUES (?, ?, ?)').run(nonce, issuedAt, expiresAt);
  }

  /** Forgets nonces that expired before `before`: a message naming one is refused anyway (unknown instead of expired). */
  pruneNonces(before: number): void {
    this.db.prepare('DELETE FROM reward_nonces WHERE expires_at < ?').run(before);
  }

  liveNonceCount(now: number): number {
    return this.db.prepare('SELECT COUNT(*) FROM reward_nonces WHERE used_at IS NULL AND expires_at > ?').pluck().get(now) as number;
  }

  nonce(nonce: string): NonceRow | null {
    const r = this.db.prepare('SELECT nonce, issued_at, expires_at, used_at FROM reward_nonces WHERE nonce = ?').get(nonce) as Raw | undefined;
    return r ? { nonce: r.nonce as string, issuedAt: r.issued_at as number, expiresAt: r.expires_at as number, usedAt: r.used_at as number | null } : null;
  }

  markNonceUsed(nonce: string, now: number, usedFor: string): void {
    const { changes } = this.db.prepare('UPDATE reward_nonces SET used_at = ?, used_for = ? WHERE nonce = ? AND used_at IS NULL').run(now, usedFor, nonce);
    if (changes !== 1) throw new RewardsDbError(`nonce ${nonce} was used concurrently`);
  }

  // ---- bindings -------------------------------------------------------------

  binding(clientId: string): BindingRow | null {
    const r = this.db.prepare('SELECT client_id, wallet, run_id, created_at FROM reward_bindings WHERE client_id = ?').get(clientId) as Raw | undefined;
    return r ? { clientId: r.client_id as string, wallet: r.wallet as string, runId: r.run_id as string, createdAt: r.created_at as number } : null;
  }

  insertBinding(b: BindingRow & { message: string; walletSignature: string; clientSignature: string }): void {
    this.db
      .prepare('INSERT INTO reward_bindings (client_id, wallet, run_id, message, wallet_signature, client_signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(b.clientId, b.wallet, b.runId, b.message, b.walletSignature, b.clientSignature, b.createdAt);
  }

  clientsOf(wallet: string): string[] {
    return this.db.prepare('SELECT client_id FROM reward_bindings WHERE wallet = ? ORDER BY created_at, client_id').pluck().all(wallet) as string[];
  }

  // ---- the ledger by wallet -------------------------------------------------

  /** Points of one client (every ledger row, before and after binding). */
  clientPoints(clientId: string): number {
    return this.db.prepare('SELECT COALESCE(SUM(amount), 0) FROM points WHERE client_id = ?').pluck().get(clientId) as number;
  }

  /** Points of every client bound to the wallet. */
  earned(wallet: string): number {
    return this.db
      .prepare('SELECT COALESCE(SUM(p.amount), 0) FROM points p JOIN reward_bindings b ON b.client_id = p.client_id WHERE b.wallet = ?')
      .pluck()
      .get(wallet) as number;
  }

  /** Points in the wallet's paid and pending claims of the run (failed claims moved nothing). */
  claimed(wallet: string, runId: string): number {
    return this.db
      .prepare("SELECT COALESCE(SUM(points), 0) FROM reward_claims WHERE wallet = ? AND run_id = ? AND status IN ('pending', 'paid')")
      .pluck()
      .get(wallet, runId) as number;
  }

  // ---- claims ---------------------------------------------------------------

  insertClaim(c: NewClaim): void {
    this.db
      .prepare(
        "INSERT INTO reward_claims (claim_id, run_id, wallet, points, amount, status, nonce, message, wallet_signature, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
      )
      .run(c.claimId, c.runId, c.wallet, c.points, c.amount.toString(), c.nonce, c.message, c.walletSignature, c.now);
  }

  /** Settles a pending claim; a claim that is not pending any more is left alone (returns false). */
  settleClaim(claimId: string, status: 'paid' | 'failed', detail: { signature?: string; error?: string }, now: number): boolean {
    const { changes } = this.db
      .prepare("UPDATE reward_claims SET status = ?, signature = ?, error = ?, settled_at = ? WHERE claim_id = ? AND status = 'pending'")
      .run(status, detail.signature ?? null, detail.error ?? null, now, claimId);
    return changes === 1;
  }

  claim(claimId: string): ClaimRow | null {
    const r = this.db.prepare('SELECT * FROM reward_claims WHERE claim_id = ?').get(claimId) as Raw | undefined;
    return r ? claimRow(r) : null;
  }

  claimsOf(wallet: string): ClaimRow[] {
    return (this.db.prepare('SELECT * FROM reward_claims WHERE wallet = ? ORDER BY created_at DESC, rowid DESC').all(wallet) as Raw[]).map(claimRow);
  }

  pendingClaims(): ClaimRow[] {
    return (this.db.prepare("SELECT * FROM reward_claims WHERE status = 'pending' ORDER BY created_at").all() as Raw[]).map(claimRow);
  }

  allClaims(): ClaimRow[] {
    return (this.db.prepare('SELECT * FROM reward_claims ORDER BY created_at, rowid').all() as Raw[]).map(claimRow);
  }
}

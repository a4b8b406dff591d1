/**
 * SQLite persistence of the embedded LiteSVM ledger. LiteSVM keeps its state
 * in memory only; we store every account a treasury transaction wrote (and
 * the memos of successful ones) after each transaction, in one SQLite
 * transaction, and load them back into a fresh LiteSVM on start. Programs
 * and sysvars are not stored: a fresh LiteSVM brings its own.
 *
 * The treasury's secret key is stored here too, in plain bytes: this is a
 * LOCAL DEVELOPMENT treasury whose tokens exist only inside this file. Never
 * put a real cluster's key here (the RPC chain reads a keypair file instead).
 *
 * Tables are prefixed `chain_` so the store can share the coordinator's
 * database handle without colliding with its tables.
 */
import type Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chain_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chain_accounts (
  address TEXT PRIMARY KEY,
  lamports TEXT NOT NULL,
  owner TEXT NOT NULL,
  executable INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_memos (
  memo TEXT NOT NULL,
  address TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (memo, address, signature)
);
`;

const TREASURY_KEY = 'treasury_secret_key';

export interface StoredAccount {
  address: string;
  lamports: bigint;
  owner: string;
  executable: boolean;
  data: Uint8Array;
}

/** An account after a transaction: its new state, or null when the transaction closed it. */
export interface AccountWrite {
  address: string;
  account: StoredAccount | null;
}

export interface MemoRecord {
  memo: string;
  /** An address the transaction wrote, for lookups by (address, memo); one record per address. */
  address: string;
}

interface AccountRow {
  address: string;
  lamports: string;
  owner: string;
  executable: number;
  data: Buffer;
}

export class LiteSvmStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  treasurySecretKey(): Uint8Array | null {
    const row = this.db.prepare('SELECT value FROM chain_meta WHERE key = ?').get(TREASURY_KEY) as { value: Buffer } | undefined;
    return row ? new Uint8Array(row.value) : null;
  }

  saveTreasurySecretKey(secretKey: Uint8Array): void {
    this.db.prepare('INSERT INTO chain_meta (key, value) VALUES (?, ?)').run(TREASURY_KEY, Buffer.from(secretKey));
  }

  accounts(): StoredAccount[] {
    const rows = this.db.prepare('SELECT address, lamports, owner, executable, data FROM chain_accounts ORDER BY address').all() as AccountRow[];
    return rows.map((row) => ({
      address: row.address,
      lamports: BigInt(row.lamports),
      owner: row.owner,
      executable: row.executable === 1,
      data: new Uint8Array(row.data),
    }));
  }

  /** Everything one ledger transaction changed, atomically. */
  record(writes: AccountWrite[], signature: string | null, memos: MemoRecord[]): void {
    const upsert = this.db.prepare(
      `INSERT INTO chain_accounts (address, lamports, owner, executable, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (address) DO UPDATE SET lamports = excluded.lamports, owner = excluded.owner,
         executable = excluded.executable, data = excluded.data`,
    );
    const remove = this.db.prepare('DELETE FROM chain_accounts WHERE address = ?');
    const memo = this.db.prepare('INSERT OR IGNORE INTO chain_memos (signature, memo, address) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const { address, account } of writes) {
        if (account) {
          upsert.run(address, account.lamports.toString(), account.owner, account.executable ? 1 : 0, Buffer.from(account.data));
        } else {
          remove.run(address);
        }
      }
      if (signature) for (const m of memos) memo.run(signature, m.memo, m.address);
    })();
  }

  findMemo(address: string, memo: string): string | null {
    const row = this.db
      .prepare('SELECT signature FROM chain_memos WHERE memo = ? AND address = ? LIMIT 1')
      .get(memo, address) as { signature: string } | undefined;
    return row?.signature ?? null;
  }
}

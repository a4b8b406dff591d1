/**
 * Everything the coordinator knows, in one SQLite file (docs/design.md §5: "a
 * restarted coordinator resumes the run and clients reconnect without losing
 * points or rounds"). WAL mode: readers (HTTP) never block the writer.
 *
 * The state machine's state is stored whole after every step, together with
 * what that step produced (ledger rows, agreed sets, the accepted commitment,
 * checkpoint placeholders) in ONE transaction, so a crash leaves either the
 * old state and none of its rows, or the new state and all of them.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { median, type EpochHistory, type RoundHistory } from '../src/net/history';
import { runStateSchema, type CommitStats } from '../src/net/messages';
import { parseRunConfig, type RunConfig } from '../src/run/run-config';
import type { Effect, RunState } from '../src/run/types';

/**
 * 2: payloads are update format 3 (proofs of training) and the round's
 * checks carry proof units. A schema-1 store holds format-2 payloads that no
 * client decodes any more, so it is refused rather than half resumed.
 */
const SCHEMA_VERSION = '2';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  state TEXT NOT NULL,
  saved_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS points (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL,
  step INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (client_id, step)
);
CREATE TABLE IF NOT EXISTS commitments (
  step INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  client_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  signature TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (step, slot)
);
CREATE TABLE IF NOT EXISTS agreed (
  step INTEGER PRIMARY KEY,
  epoch INTEGER NOT NULL,
  slots TEXT NOT NULL,
  clients TEXT NOT NULL,
  hashes TEXT NOT NULL,
  lr_bits INTEGER NOT NULL,
  -- The witnesses' agreed checksum before this step's apply (null: nobody witnessed).
  checksum TEXT
);
CREATE TABLE IF NOT EXISTS payloads (
  hash TEXT PRIMARY KEY,
  step INTEGER NOT NULL,
  client_id TEXT NOT NULL,
  bytes BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS update_bands (
  band INTEGER NOT NULL,
  hash TEXT NOT NULL,
  step INTEGER NOT NULL,
  PRIMARY KEY (band, hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  epoch INTEGER PRIMARY KEY,
  step INTEGER NOT NULL,
  checksum TEXT,
  bytes BLOB,
  created_at INTEGER NOT NULL
);
-- The dashboard's history (server/history.ts): one row per ended round, kept for the whole run.
-- Added to schema 2 without a version bump: a store made before it gets the table empty and
-- has history from its next round on.
CREATE TABLE IF NOT EXISTS rounds (
  step INTEGER PRIMARY KEY,
  epoch INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  train_ms INTEGER NOT NULL,
  witness_ms INTEGER NOT NULL,
  members INTEGER NOT NULL,
  agreed INTEGER NOT NULL,
  excluded INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  tokens_seen INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  reporters INTEGER NOT NULL,
  loss REAL,
  client_train_ms REAL,
  client_apply_ms REAL
);
-- What each member reported with its commit (untrusted display data); kept for the last
-- CLIENT_STATS_KEEP_STEPS steps only: a round's medians are in its rounds row.
CREATE TABLE IF NOT EXISTS client_stats (
  step INTEGER NOT NULL,
  client_id TEXT NOT NULL,
  loss REAL NOT NULL,
  train_ms REAL NOT NULL,
  apply_ms REAL,
  PRIMARY KEY (step, client_id)
) WITHOUT ROWID;
`;

/** Client stats older than this many steps before the latest ended round are deleted. */
export const CLIENT_STATS_KEEP_STEPS = 1000;

export class StoreError extends Error {
  override name = 'StoreError';
}

export interface CommitmentRow {
  step: number;
  slot: number;
  clientId: string;
  hash: string;
  signature: string;
}

export interface AgreedRow {
  step: number;
  epoch: number;
  slots: number[];
  clients: string[];
  hashes: string[];
  lrBits: number;
  /** The agreed checksum before this step's apply; null when nobody witnessed. */
  checksum: string | null;
}

export interface PointsRow {
  clientId: string;
  step: number;
  amount: number;
  createdAt: number;
}

export interface CheckpointRow {
  epoch: number;
  /** The parameters before this step: rounds [0, step) are applied. */
  step: number;
  checksum: string;
  bytes: Uint8Array;
}

/**
 * What the history row of an ended round needs beyond its `agreed` effect, taken by the coordinator from
 * the state before the step (server/history.ts roundFacts).
 */
export interface RoundFacts {
  step: number;
  startedAt: number;
  /** When RoundWitness began. */
  witnessStartedAt: number;
  members: number;
  tokens: number;
  tokensSeen: number;
}

export interface StepExtras {
  now: number;
  /** The commitment an accepted `commit` event stands for (the state holds only its hash), with the stats its client reported. */
  commitment?: CommitmentRow & { stats?: CommitStats };
  /** Per round this step ended; a round without facts is recorded from its effect alone (times `now`, tokens 0). */
  rounds?: RoundFacts[];
}

/** One reporter's stats of a step. */
export interface ClientStatsRow {
  step: number;
  clientId: string;
  loss: number;
  trainMs: number;
  applyMs: number | null;
}

export class Store {
  private constructor(private readonly db: Database.Database) {}

  /** Opens (creating when missing) the database at `path`; ':memory:' for throwaway stores. */
  static open(path: string): Store {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    const version = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('schema') as string | undefined;
    if (version === undefined) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) {
      db.close();
      throw new StoreError(`${path} has store schema ${version}; this server reads schema ${SCHEMA_VERSION}`);
    }
    return new Store(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- run config --------------------------------------------------------

  loadConfig(): RunConfig | null {
    const text = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('config') as string | undefined;
    return text === undefined ? null : parseRunConfig(parseJson(text, 'stored run config'), 'stored run config');
  }

  /** A new run: its config, epoch-0 checkpoint and first state, all or nothing. */
  createRun(config: RunConfig, state: RunState, checkpoint: CheckpointRow, now: number): void {
    this.db.transaction(() => {
      if (this.loadConfig() !== null) throw new StoreError('this database already holds a run');
      this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('config', JSON.stringify(config));
      this.writeSnapshot(state, now);
      this.db.prepare('INSERT INTO checkpoints (epoch, step, checksum, bytes, created_at) VALUES (?, ?, ?, ?, ?)').run(checkpoint.epoch, checkpoint.step, checkpoint.checksum, checkpoint.bytes, now);
    })();
  }

  /** The run's secret for check salts (32 bytes hex), made on first use and kept across restarts; never sent to clients. */
  verifySecret(): string {
    const get = () => this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('verify-secret') as string | undefined;
    const known = get();
    if (known !== undefined) return known;
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');
    this.db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('verify-secret', secret);
    return get() as string;
  }

  // ---- state ---------------------------------------------------------------

  loadSnapshot(): RunState | null {
    const text = this.db.prepare('SELECT state FROM snapshot WHERE id = 1').pluck().get() as string | undefined;
    if (text === undefined) return null;
    const parsed = runStateSchema.safeParse(parseJson(text, 'stored state snapshot'));
    if (!parsed.success) throw new StoreError(`stored state snapshot does not match the RunState shape: ${parsed.error.message}`);
    return parsed.data;
  }

  /**
   * The state after one step and everything that step produced, in one
   * transaction. A duplicate ledger row (same client and step) throws and
   * rolls the whole step back: the caller then keeps its old state.
   */
  applyStep(state: RunState, effects: readonly Effect[], extras: StepExtras): void {
    const { now, commitment } = extras;
    this.db.transaction(() => {
      this.writeSnapshot(state, now);
      // Before the effects: a round's history row reads the stats of its commits.
      if (commitment) {
        this.db
          .prepare('INSERT INTO commitments (step, slot, client_id, hash, signature, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(commitment.step, commitment.slot, commitment.clientId, commitment.hash, commitment.signature, now);
        const st = commitment.stats;
        if (st) {
          this.db
            .prepare('INSERT OR REPLACE INTO client_stats (step, client_id, loss, train_ms, apply_ms) VALUES (?, ?, ?, ?, ?)')
            .run(commitment.step, commitment.clientId, st.loss, st.trainMs, st.applyMs ?? null);
        }
      }
      const addPoints = this.db.prepare('INSERT INTO points (client_id, step, amount, created_at) VALUES (?, ?, ?, ?)');
      const addAgreed = this.db.prepare('INSERT INTO agreed (step, epoch, slots, clients, hashes, lr_bits, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)');
      const addPending = this.db.prepare('INSERT OR IGNORE INTO checkpoints (epoch, step, checksum, bytes, created_at) VALUES (?, ?, NULL, NULL, ?)');
      for (const e of effects) {
        if (e.type === 'points') addPoints.run(e.clientId, e.step, e.amount, now);
        else if (e.type === 'agreed') {
          addAgreed.run(e.step, e.epoch, JSON.stringify(e.slots), JSON.stringify(e.clients), JSON.stringify(e.hashes), e.lrBits, e.checksum);
          this.recordRound(e, extras.rounds?.find((f) => f.step === e.step), now);
        }
        // The checkpoint of the epoch that starts here; built after the commit (checkpointer.ts).
        else if (e.type === 'epochEnd') addPending.run(e.epoch + 1, e.step, now);
      }
    })();
  }

  /** The history row of an ended round (inside applyStep's transaction), and the pruning of old client stats. */
  private recordRound(e: Extract<Effect, { type: 'agreed' }>, facts: RoundFacts | undefined, now: number): void {
    const hashes = JSON.stringify(e.hashes);
    const bytes = this.db.prepare('SELECT COALESCE(SUM(length(bytes)), 0) FROM payloads WHERE hash IN (SELECT value FROM json_each(?))').pluck().get(hashes) as number;
    // Only the agreed authors' reports count: an excluded update's author has no say in the round's numbers.
    const reports = this.db
      .prepare('SELECT loss, train_ms, apply_ms FROM client_stats WHERE step = ? AND client_id IN (SELECT value FROM json_each(?))')
      .all(e.step, JSON.stringify(e.clients)) as { loss: number; train_ms: number; apply_ms: number | null }[];
    const applies = reports.flatMap((r) => (r.apply_ms === null ? [] : [r.apply_ms]));
    const startedAt = facts?.startedAt ?? now;
    const witnessStartedAt = Math.max(startedAt, Math.min(facts?.witnessStartedAt ?? now, now));
    this.db
      .prepare(
        `INSERT INTO rounds (step, epoch, started_at, ended_at, train_ms, witness_ms, members, agreed, excluded, tokens, tokens_seen, bytes, reporters, loss, client_train_ms, client_apply_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.step,
        e.epoch,
        startedAt,
        now,
        witnessStartedAt - startedAt,
        now - witnessStartedAt,
        facts?.members ?? e.slots.length + e.excluded.length,
        e.slots.length,
        e.excluded.length,
        facts?.tokens ?? 0,
        facts?.tokensSeen ?? 0,
        bytes,
        reports.length,
        median(reports.map((r) => r.loss)),
        median(reports.map((r) => r.train_ms)),
        median(applies),
      );
    this.db.prepare('DELETE FROM client_stats WHERE step < ?').run(e.step - CLIENT_STATS_KEEP_STEPS);
  }

  private writeSnapshot(state: RunState, now: number): void {
    this.db.prepare('INSERT INTO snapshot (id, state, saved_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at').run(JSON.stringify(state), now);
  }

  // ---- ledger, commitments, agreed sets ----------------------------------

  pointsLedger(): PointsRow[] {
    const rows = this.db.prepare('SELECT client_id, step, amount, created_at FROM points ORDER BY id').all() as { client_id: string; step: number; amount: number; created_at: number }[];
    return rows.map((r) => ({ clientId: r.client_id, step: r.step, amount: r.amount, createdAt: r.created_at }));
  }

  pointsTotal(clientId: string): number {
    return (this.db.prepare('SELECT COALESCE(SUM(amount), 0) FROM points WHERE client_id = ?').pluck().get(clientId) as number) ?? 0;
  }

  commitments(step: number): CommitmentRow[] {
    const rows = this.db.prepare('SELECT step, slot, client_id, hash, signature FROM commitments WHERE step = ? ORDER BY slot').all(step) as {
      step: number;
      slot: number;
      client_id: string;
      hash: string;
      signature: string;
    }[];
    return rows.map((r) => ({ step: r.step, slot: r.slot, clientId: r.client_id, hash: r.hash, signature: r.signature }));
  }

  /** The agreed checksum of `step` (parameters before its apply), once that round has ended; null before or when nobody witnessed. */
  agreedChecksum(step: number): string | null {
    const row = this.db.prepare('SELECT checksum FROM agreed WHERE step = ?').get(step) as { checksum: string | null } | undefined;
    return row?.checksum ?? null;
  }

  /** Agreed sets with fromStep ≤ step < toStep, ascending. */
  agreedRange(fromStep: number, toStep: number, limit = Number.MAX_SAFE_INTEGER): AgreedRow[] {
    const rows = this.db.prepare('SELECT step, epoch, slots, clients, hashes, lr_bits, checksum FROM agreed WHERE step >= ? AND step < ? ORDER BY step LIMIT ?').all(fromStep, toStep, limit) as {
      step: number;
      epoch: number;
      slots: string;
      clients: string;
      hashes: string;
      lr_bits: number;
      checksum: string | null;
    }[];
    return rows.map((r) => ({
      step: r.step,
      epoch: r.epoch,
      slots: JSON.parse(r.slots) as number[],
      clients: JSON.parse(r.clients) as string[],
      hashes: JSON.parse(r.hashes) as string[],
      lrBits: r.lr_bits,
      checksum: r.checksum,
    }));
  }

  // ---- history (server/history.ts) -------------------------------------------

  /** History rows with step ≥ fromStep, ascending, at most `limit`. */
  roundsFrom(fromStep: number, limit: number): RoundHistory[] {
    const rows = this.db.prepare('SELECT * FROM rounds WHERE step >= ? ORDER BY step LIMIT ?').all(fromStep, limit) as Record<string, number | null>[];
    return rows.map(roundRow);
  }

  /** The history row of one round, once it ended. */
  round(step: number): RoundHistory | null {
    const row = this.db.prepare('SELECT * FROM rounds WHERE step = ?').get(step) as Record<string, number | null> | undefined;
    return row === undefined ? null : roundRow(row);
  }

  /** Whether a history row exists after `step`. */
  hasRoundsAfter(step: number): boolean {
    return this.db.prepare('SELECT 1 FROM rounds WHERE step > ? LIMIT 1').get(step) !== undefined;
  }

  /** What one step's reporters said (kept for CLIENT_STATS_KEEP_STEPS steps). */
  clientStats(step: number): ClientStatsRow[] {
    const rows = this.db.prepare('SELECT step, client_id, loss, train_ms, apply_ms FROM client_stats WHERE step = ? ORDER BY client_id').all(step) as {
      step: number;
      client_id: string;
      loss: number;
      train_ms: number;
      apply_ms: number | null;
    }[];
    return rows.map((r) => ({ step: r.step, clientId: r.client_id, loss: r.loss, trainMs: r.train_ms, applyMs: r.apply_ms }));
  }

  /** The newest `limit` epochs with their checkpoints (built or not), newest first. */
  epochs(limit: number): EpochHistory[] {
    return this.db.prepare('SELECT epoch, step, checksum, created_at AS at FROM checkpoints ORDER BY epoch DESC LIMIT ?').all(limit) as EpochHistory[];
  }

  /**
   * client id → bound wallet, from the rewards service's table in this same file (server/rewards/rewards-db.ts);
   * empty while the rewards service never opened this database.
   */
  walletBindings(): Map<string, string> {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reward_bindings'").get();
    if (!exists) return new Map();
    const rows = this.db.prepare('SELECT client_id, wallet FROM reward_bindings').all() as { client_id: string; wallet: string }[];
    return new Map(rows.map((r) => [r.client_id, r.wallet]));
  }

  // ---- payloads --------------------------------------------------------------

  /** Content-addressed: storing the same hash twice keeps the first. */
  putPayload(hash: string, step: number, clientId: string, bytes: Uint8Array, now: number): void {
    this.db.prepare('INSERT OR IGNORE INTO payloads (hash, step, client_id, bytes, created_at) VALUES (?, ?, ?, ?, ?)').run(hash, step, clientId, bytes, now);
  }

  getPayload(hash: string): Uint8Array | null {
    const buf = this.db.prepare('SELECT bytes FROM payloads WHERE hash = ?').pluck().get(hash) as Buffer | undefined;
    return buf === undefined ? null : new Uint8Array(buf);
  }

  /** Who uploaded the payload, for which step; null when it is not stored. */
  payloadOrigin(hash: string): { clientId: string; step: number } | null {
    const row = this.db.prepare('SELECT client_id, step FROM payloads WHERE hash = ?').get(hash) as { client_id: string; step: number } | undefined;
    return row === undefined ? null : { clientId: row.client_id, step: row.step };
  }

  /** The copy check's index entries for one accepted payload (src/verify/sketch.ts band keys). */
  putBands(hash: string, step: number, bands: number[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO update_bands (band, hash, step) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const b of bands) insert.run(b, hash, step);
    })();
  }

  /** Indexed payloads sharing at least one band key with `bands`, most shared first (ties: newest first), `hash` itself left out. */
  similarByBands(bands: number[], hash: string, limit: number): { hash: string; shared: number }[] {
    if (bands.length === 0) return [];
    const marks = bands.map(() => '?').join(',');
    return this.db
      .prepare(`SELECT hash, COUNT(*) AS shared FROM update_bands WHERE band IN (${marks}) AND hash != ? GROUP BY hash ORDER BY shared DESC, MAX(step) DESC LIMIT ?`)
      .all(...bands, hash, limit) as { hash: string; shared: number }[];
  }

  // ---- checkpoints -------------------------------------------------------------

  putCheckpoint(row: CheckpointRow, now: number): void {
    this.db
      .prepare('INSERT INTO checkpoints (epoch, step, checksum, bytes, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (epoch) DO UPDATE SET step = excluded.step, checksum = excluded.checksum, bytes = excluded.bytes, created_at = excluded.created_at')
      .run(row.epoch, row.step, row.checksum, row.bytes, now);
  }

  /** The newest checkpoint that has been built (placeholders are skipped). */
  latestCheckpoint(): CheckpointRow | null {
    return this.checkpointWhere('bytes IS NOT NULL ORDER BY epoch DESC LIMIT 1');
  }

  /** What latestCheckpoint() would return, without reading its bytes: the download cache checks this on every request. */
  latestCheckpointInfo(): Omit<CheckpointRow, 'bytes'> | null {
    const row = this.db.prepare('SELECT epoch, step, checksum FROM checkpoints WHERE bytes IS NOT NULL ORDER BY epoch DESC LIMIT 1').get() as
      | Omit<CheckpointRow, 'bytes'>
      | undefined;
    return row ?? null;
  }

  /** The built checkpoint of one epoch. */
  checkpointOfEpoch(epoch: number): CheckpointRow | null {
    return this.checkpointWhere('bytes IS NOT NULL AND epoch = ?', epoch);
  }

  /** The newest built checkpoint at or before `step`: the base to replay from. */
  checkpointAtOrBefore(step: number): CheckpointRow | null {
    return this.checkpointWhere('bytes IS NOT NULL AND step <= ? ORDER BY step DESC, epoch DESC LIMIT 1', step);
  }

  /** Epoch ends recorded by applyStep whose checkpoint is not built yet, oldest first. */
  pendingCheckpoints(): { epoch: number; step: number }[] {
    return this.db.prepare('SELECT epoch, step FROM checkpoints WHERE bytes IS NULL ORDER BY epoch').all() as { epoch: number; step: number }[];
  }

  private checkpointWhere(where: string, ...args: unknown[]): CheckpointRow | null {
    const row = this.db.prepare(`SELECT epoch, step, checksum, bytes FROM checkpoints WHERE ${where}`).get(...args) as
      | { epoch: number; step: number; checksum: string; bytes: Buffer }
      | undefined;
    return row === undefined ? null : { epoch: row.epoch, step: row.step, checksum: row.checksum, bytes: new Uint8Array(row.bytes) };
  }
}

function roundRow(r: Record<string, number | null>): RoundHistory {
  return {
    step: r.step as number,
    epoch: r.epoch as number,
    startedAt: r.started_at as number,
    endedAt: r.ended_at as number,
    trainMs: r.train_ms as number,
    witnessMs: r.witness_ms as number,
    members: r.members as number,
    agreed: r.agreed as number,
    excluded: r.excluded as number,
    tokens: r.tokens as number,
    tokensSeen: r.tokens_seen as number,
    bytes: r.bytes as number,
    reporters: r.reporters as number,
    loss: r.loss,
    clientTrainMs: r.client_train_ms,
    clientApplyMs: r.client_apply_ms,
  };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StoreError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

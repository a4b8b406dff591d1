/**
 * What a tab keeps in IndexedDB so that a reload resumes in seconds
 * (docs/design.md §13) instead of downloading the checkpoint and replaying the
 * epoch: one record, written after an apply, holding the flat parameters at
 * that step, DeMo's momentum as it was then (so it is kept, not restarted at
 * zero), and what the coordinator can confirm: the checksum before that
 * apply and the hashes applied, which are the agreed round's checksum and
 * hashes. One record, written in one transaction (its buffers in pieces:
 * CHUNK_FLOATS), so parameters and momentum are always of the same moment. Records name the run and the model (with the
 * DeMo settings), so another run's or another model's state is never loaded.
 */
import { openDB, type IDBPDatabase } from 'idb';

const DB = 'tessera-resume';
const STORE = 'state';
const KEY = 'latest';

export interface ResumeRecord {
  runId: string;
  /** resumeKey(): the model config and DeMo settings the buffers belong to. */
  modelKey: string;
  /** Rounds [0, step) are applied; step ≥ 1 (a record is written after an apply). */
  step: number;
  /** Checksum of `params`. */
  checksum: string;
  /** The checksum before round step − 1 was applied: that round's agreed checksum. */
  prevChecksum: string;
  /** The hashes of round step − 1's agreed updates, as applied. */
  lastHashes: string[];
  /** The last round this tab trained before the record (−1 if none since it loaded): when momentum last changed. */
  momentumStep: number;
  params: Float32Array;
  momentum: Float32Array;
}

/** Where a client keeps its one resume record: IndexedDB in a tab (ResumeStore), a file for the headless client. */
export interface RecordStore {
  /** The stored record of this run and model, or null: nothing stored, or another run's or model's, or malformed (logged). */
  load(runId: string, modelKey: string, floats: number): Promise<ResumeRecord | null>;
  /** Replaces the stored record, atomically: a restart sees the old one or this one, never a mix. */
  put(record: ResumeRecord): Promise<void>;
  /** Forgets the stored record: a checkpoint load or a resync starts a new line of state. */
  clear(): Promise<void>;
}

const HEX16 = /^[0-9a-f]{16}$/;
const HASH = /^[0-9a-f]{64}$/;

/** The model config and DeMo settings as one string: a record is only ever loaded into buffers of the same shape and meaning. */
export function resumeKey(model: unknown, optimizer: unknown, seqLen: number): string {
  return JSON.stringify({ model, optimizer, seqLen });
}

/** Why `v` is not a record of this run and model with `floats` floats per buffer, or null when it is. */
export function recordProblem(v: unknown, runId: string, modelKey: string, floats: number): string | null {
  const r = v as Partial<ResumeRecord> | null | undefined;
  if (typeof r !== 'object' || r === null) return 'not a record';
  if (r.runId !== runId) return `it belongs to run ${String(r.runId)}`;
  if (r.modelKey !== modelKey) return 'it belongs to another model or DeMo setting';
  if (!Number.isInteger(r.step) || (r.step as number) < 1) return `its step ${String(r.step)} is not a positive integer`;
  if (!Number.isInteger(r.momentumStep) || (r.momentumStep as number) < -1 || (r.momentumStep as number) >= (r.step as number)) return `its momentum step ${String(r.momentumStep)} is not before step ${String(r.step)}`;
  if (typeof r.checksum !== 'string' || !HEX16.test(r.checksum) || typeof r.prevChecksum !== 'string' || !HEX16.test(r.prevChecksum)) return 'its checksums are not 16 hex digits';
  if (!Array.isArray(r.lastHashes) || !r.lastHashes.every((h) => typeof h === 'string' && HASH.test(h))) return 'its hashes are not 64 hex digits each';
  if (!(r.params instanceof Float32Array) || r.params.length !== floats) return `its parameters are not ${floats} floats`;
  if (!(r.momentum instanceof Float32Array) || r.momentum.length !== floats) return `its momentum is not ${floats} floats`;
  return null;
}

/**
 * Floats per stored piece. Chromium's renderer died here putting one 230 MB
 * array (a 57 M-parameter buffer) into IndexedDB, and took 64 MB pieces of a
 * 432 MB one in 0.8 s, so buffers go in 32 MB pieces, all in one transaction.
 */
export const CHUNK_FLOATS = 1 << 23;

type Meta = Omit<ResumeRecord, 'params' | 'momentum'> & { floats: number; chunks: number };

const BUFFERS = ['params', 'momentum'] as const;
const chunkKey = (buffer: (typeof BUFFERS)[number], i: number) => `${buffer}:${i}`;

export class ResumeStore implements RecordStore {
  private constructor(
    private readonly db: IDBPDatabase,
    private readonly chunkFloats: number,
  ) {}

  static async open(name = DB, chunkFloats = CHUNK_FLOATS): Promise<ResumeStore> {
    if (!Number.isInteger(chunkFloats) || chunkFloats < 1) throw new RangeError(`ResumeStore: chunkFloats must be a positive integer, got ${chunkFloats}`);
    const db = await openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore(STORE);
      },
    });
    return new ResumeStore(db, chunkFloats);
  }

  /** The stored record of this run and model, or null: nothing stored, or another run's or model's, or malformed (logged). */
  async load(runId: string, modelKey: string, floats: number): Promise<ResumeRecord | null> {
    const tx = this.db.transaction(STORE, 'readonly');
    const meta = (await tx.store.get(KEY)) as Partial<Meta> | undefined;
    if (meta === undefined) return null;
    const chunks = Number.isInteger(meta.chunks) && meta.floats === floats ? (meta.chunks as number) : 0;
    const [params, momentum] = await Promise.all(BUFFERS.map((b) => this.gather(tx.store, b, chunks, floats)));
    await tx.done;
    const { floats: _f, chunks: _c, ...line } = meta;
    const record = { ...line, params, momentum };
    const problem = recordProblem(record, runId, modelKey, floats);
    if (problem === null) return record as ResumeRecord;
    console.warn(`resume store: not resuming from the stored state: ${problem}`);
    return null;
  }

  /** Replaces the stored record, atomically: a reload sees the old one or this one, never a mix. */
  async put(r: ResumeRecord): Promise<void> {
    const { params, momentum, ...line } = r;
    const floats = params.length;
    const chunks = Math.ceil(floats / this.chunkFloats);
    const tx = this.db.transaction(STORE, 'readwrite');
    await tx.store.clear();
    for (const [name, buffer] of [['params', params], ['momentum', momentum]] as const) {
      // slice, not subarray: a view would be stored with its whole buffer.
      for (let i = 0; i < chunks; i++) await tx.store.put(buffer.slice(i * this.chunkFloats, (i + 1) * this.chunkFloats), chunkKey(name, i));
    }
    const meta: Meta = { ...line, floats, chunks };
    await tx.store.put(meta, KEY);
    await tx.done;
  }

  /** Forget the stored state: a checkpoint load or a resync starts a new line of it. */
  async clear(): Promise<void> {
    await this.db.clear(STORE);
  }

  close(): void {
    this.db.close();
  }

  /** One buffer from its pieces; null when a piece is missing or not the size it must be. */
  private async gather(store: { get(key: string): Promise<unknown> }, buffer: (typeof BUFFERS)[number], chunks: number, floats: number): Promise<Float32Array | null> {
    if (chunks !== Math.ceil(floats / this.chunkFloats)) return null;
    const out = new Float32Array(floats);
    for (let i = 0; i < chunks; i++) {
      const piece: unknown = await store.get(chunkKey(buffer, i));
      const want = Math.min(this.chunkFloats, floats - i * this.chunkFloats);
      if (!(piece instanceof Float32Array) || piece.length !== want) return null;
      out.set(piece, i * this.chunkFloats);
    }
    return out;
  }
}

/**
 * What a tab keeps in IndexedDB so that a reload resumes in seconds
 * (DESIGN.md §13) instead of downloading the checkpoint and replaying the
 * epoch: one record, written after an apply, holding the flat parameters at
 * that step, DeMo's momentum as it was then (so it is kept, not restarted at
 * zero), and what the coordinator can confirm: the checksum before that
 * apply and the hashes applied, which are the agreed round's checksum and
 * hashes. One record, not one per buffer, so parameters and momentum are
 * always of the same moment. Records name the run and the model (with the
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

export class ResumeStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name = DB): Promise<ResumeStore> {
    const db = await openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore(STORE);
      },
    });
    return new ResumeStore(db);
  }

  /** The stored record of this run and model, or null: nothing stored, or another run's or model's, or malformed (logged). */
  async load(runId: string, modelKey: string, floats: number): Promise<ResumeRecord | null> {
    const v: unknown = await this.db.get(STORE, KEY);
    if (v === undefined) return null;
    const problem = recordProblem(v, runId, modelKey, floats);
    if (problem === null) return v as ResumeRecord;
    console.warn(`resume store: not resuming from the stored state: ${problem}`);
    return null;
  }

  async put(r: ResumeRecord): Promise<void> {
    await this.db.put(STORE, r, KEY);
  }

  /** Forget the stored state: a checkpoint load or a resync starts a new line of it. */
  async clear(): Promise<void> {
    await this.db.delete(STORE, KEY);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The headless client's resume record (src/train/resume-store.ts has the
 * contract) in one file: a 4-byte length, the record's fields as JSON, zero
 * padding to a multiple of 4 bytes, then the parameters and the momentum as
 * little-endian float32. A new record is written to a temporary file, synced
 * and renamed over the old one, so a crash at any moment leaves the old
 * record or the new one, never a mix. A record that fails its checks is
 * ignored (logged), never half-loaded.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { recordProblem, type RecordStore, type ResumeRecord } from '../train/resume-store';

const FILE = 'resume.bin';
/** Bytes per read or write call: well under Node's 2 GiB limit for one call. */
const PIECE = 64 * 1024 * 1024;
/** The JSON part holds a few hashes and numbers; anything larger is not ours. */
const MAX_META_BYTES = 1024 * 1024;

type Line = Omit<ResumeRecord, 'params' | 'momentum'>;

export class FileResumeStore implements RecordStore {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<FileResumeStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new FileResumeStore(dir);
  }

  get path(): string {
    return join(this.dir, FILE);
  }

  async load(runId: string, modelKey: string, floats: number): Promise<ResumeRecord | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const problem = await this.read(fh, floats).then(
        (record) => ({ record, problem: recordProblem(record, runId, modelKey, floats) }),
        (err: unknown) => ({ record: null, problem: (err as Error).message }),
      );
      if (problem.problem === null) return problem.record as ResumeRecord;
      console.warn(`resume store: not resuming from ${this.path}: ${problem.problem}`);
      return null;
    } finally {
      await fh.close();
    }
  }

  async put(r: ResumeRecord): Promise<void> {
    const { params, momentum, ...line } = r;
    const meta = Buffer.from(JSON.stringify(line), 'utf8');
    const header = Buffer.alloc(padded(4 + meta.length));
    header.writeUInt32LE(meta.length, 0);
    meta.copy(header, 4);
    // A name of its own per write: two writes at once each rename a whole file, the later one wins.
    const tmp = `${this.path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await writeAll(fh, header);
        await writeAll(fh, new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
        await writeAll(fh, new Uint8Array(momentum.buffer, momentum.byteOffset, momentum.byteLength));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }

  /** The record as the file holds it; throws with the reason when the file is not one. */
  private async read(fh: FileHandle, floats: number): Promise<unknown> {
    const { size } = await fh.stat();
    const lenBytes = Buffer.alloc(4);
    if (size < 4 || (await fh.read(lenBytes, 0, 4, 0)).bytesRead !== 4) throw new Error('the file is shorter than its header');
    const metaLength = lenBytes.readUInt32LE(0);
    if (metaLength > MAX_META_BYTES) throw new Error(`its header claims ${metaLength} bytes of fields`);
    const offset = padded(4 + metaLength);
    if (size !== offset + 8 * floats) throw new Error(`it is ${size} bytes, a record of ${floats} floats is ${offset + 8 * floats}`);
    const meta = Buffer.alloc(metaLength);
    await readAll(fh, meta, 4);
    let line: Line;
    try {
      line = JSON.parse(meta.toString('utf8')) as Line;
    } catch {
      throw new Error('its fields are not JSON');
    }
    const params = new Float32Array(floats);
    const momentum = new Float32Array(floats);
    await readAll(fh, new Uint8Array(params.buffer), offset);
    await readAll(fh, new Uint8Array(momentum.buffer), offset + 4 * floats);
    return { ...line, params, momentum };
  }
}

const padded = (n: number) => Math.ceil(n / 4) * 4;

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, at, Math.min(PIECE, bytes.length - at));
    at += bytesWritten;
  }
}

async function readAll(fh: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < into.length; ) {
    const { bytesRead } = await fh.read(into, at, Math.min(PIECE, into.length - at), position + at);
    if (bytesRead === 0) throw new Error('the file ended early');
    at += bytesRead;
  }
}

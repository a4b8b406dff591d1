/**
 * GET /api/checkpoint/latest for joiners (docs/run.md "Checkpoints and
 * catch-up"). The checkpoint is the whole model, so the download is gzip and
 * resumable: compressed once per checkpoint on zlib's thread pool (never in
 * the event loop), kept in memory for the latest one only, named by a strong
 * ETag (the SHA-256 of the gzip bytes, also hashed off the loop), and served
 * with single byte ranges under If-Range, so an interrupted download
 * continues from the bytes it has and never splices two checkpoints.
 */
import { webcrypto } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { HttpError } from './api';
import { ifRangeAllows, parseRange } from './range';
import type { CheckpointRow, Store } from './store';

const gzipAsync = promisify(gzip);

export interface CompressedCheckpoint {
  epoch: number;
  step: number;
  checksum: string;
  /** Bytes of the safetensors before compression. */
  size: number;
  gz: Uint8Array;
  /** Quoted, as sent: "<32 hex of the gzip bytes' SHA-256>". */
  etag: string;
}

/** The gzip representation is asked for by `Accept: application/gzip`; without it the raw safetensors come, as before. */
export function wantsGzip(req: IncomingMessage): boolean {
  return /(^|,)\s*application\/gzip\s*(;|,|$)/i.test(req.headers.accept ?? '');
}

export class CheckpointDownloads {
  private current: { key: string; ready: Promise<CompressedCheckpoint> } | null = null;

  constructor(private readonly store: Store) {}

  /** The latest checkpoint, compressed: the first request for a checkpoint starts the work and every later one shares it. */
  latest(): Promise<CompressedCheckpoint> | null {
    const info = this.store.latestCheckpointInfo();
    if (info === null) return null;
    const key = `${info.epoch}:${info.step}:${info.checksum}`;
    if (this.current?.key !== key) {
      const ready = this.compress(info.epoch);
      const entry = { key, ready };
      // A failure must not stick: the next request tries again.
      ready.catch(() => {
        if (this.current === entry) this.current = null;
      });
      this.current = entry;
    }
    return this.current.ready;
  }

  private async compress(epoch: number): Promise<CompressedCheckpoint> {
    const row: CheckpointRow | null = this.store.checkpointOfEpoch(epoch);
    if (row === null) throw new HttpError(503, 'checkpoint-moved', `the checkpoint of epoch ${epoch} is gone; ask again`);
    const gz = new Uint8Array(await gzipAsync(row.bytes, { level: 6 }));
    const digest = new Uint8Array(await webcrypto.subtle.digest('SHA-256', gz));
    const etag = `"${Buffer.from(digest.subarray(0, 16)).toString('hex')}"`;
    return { epoch: row.epoch, step: row.step, checksum: row.checksum, size: row.bytes.byteLength, gz, etag };
  }
}

/** The gzip body, whole (200) or the asked-for range (206); a range it cannot satisfy is a 416 naming why. */
export function sendCompressedCheckpoint(req: IncomingMessage, res: ServerResponse, c: CompressedCheckpoint, head: boolean): void {
  const total = c.gz.byteLength;
  const ifRange = req.headers['if-range'];
  const range = ifRangeAllows(typeof ifRange === 'string' ? ifRange : undefined, c.etag) ? parseRange(req.headers.range, total) : ({ kind: 'full' } as const);
  if (range.kind === 'invalid') {
    res.setHeader('Content-Range', `bytes */${total}`);
    throw new HttpError(416, 'range-not-satisfiable', `${range.reason} (the gzip checkpoint is ${total} bytes, ETag ${c.etag})`);
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, total - 1];
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/gzip',
    'Content-Length': end - start + 1,
    'Accept-Ranges': 'bytes',
    ETag: c.etag,
    Vary: 'Accept',
    'Cache-Control': 'no-store',
    'X-Tessera-Epoch': String(c.epoch),
    'X-Tessera-Step': String(c.step),
    'X-Tessera-Checksum': c.checksum,
    'X-Tessera-Size': String(c.size),
  };
  if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
  res.end(head ? undefined : c.gz.subarray(start, end + 1));
}

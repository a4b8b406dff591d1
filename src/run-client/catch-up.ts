/**
 * What a joining (or resyncing) tab downloads over HTTP: the latest epoch
 * checkpoint and the agreed updates since it (server/api.ts), every bundle
 * payload checked against its hash before it is used.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { commitment } from '../protocol/commitment';
import { decodeUpdateBundle, type BundleRound } from '../net/update-bundle';
import { agreedFromBucket } from './bucket-catch-up';
import { downloadResumable, gunzip } from './resumable-download';

export interface Checkpoint {
  epoch: number;
  /** The first step the checkpoint's parameters have not seen. */
  step: number;
  checksum: string;
  bytes: Uint8Array;
}

export interface CatchUpSource {
  latestCheckpoint(): Promise<Checkpoint>;
  /** Offers this tab's checkpoint of `step` (server/checkpoint-uploads.ts); resolves with the coordinator's answer. */
  putCheckpoint(step: number, clientId: string, bytes: Uint8Array, signature: Uint8Array): Promise<string>;
  /** Agreed rounds from `fromStep` on, in step order; `toStep` is where the next call starts. */
  agreedSince(fromStep: number): Promise<{ toStep: number; rounds: BundleRound[] }>;
}

export class CatchUpError extends Error {
  override name = 'CatchUpError';
}

function headerInt(headers: Headers, name: string): number {
  const raw = headers.get(name);
  if (raw === null || !/^(0|[1-9][0-9]{0,15})$/.test(raw)) throw new CatchUpError(`checkpoint response header ${name} is "${raw}", not an integer`);
  return Number(raw);
}

async function fetchBytes(url: string): Promise<{ res: Response; bytes: Uint8Array }> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new CatchUpError(`GET ${url}: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** The coordinator's HTTP API at `origin` (e.g. http://localhost:8080). */
export function httpCatchUp(origin: string): CatchUpSource {
  // Learned from the first answer: a relay coordinator is not asked for bucket URLs again.
  let bucket = true;
  return {
    async latestCheckpoint() {
      // The whole model: gzip, and a dropped connection resumes from the bytes it has (server/checkpoint-download.ts).
      const url = new URL('/api/checkpoint/latest', origin).href;
      const { headers, bytes: gz } = await downloadResumable(url, { headers: { Accept: 'application/gzip' } }).catch((e: unknown) => {
        throw new CatchUpError((e as Error).message);
      });
      if (headers.get('Content-Type') !== 'application/gzip') throw new CatchUpError(`GET ${url}: expected application/gzip, got ${headers.get('Content-Type')}`);
      const checksum = headers.get('X-Tessera-Checksum') ?? '';
      if (!/^[0-9a-f]{16}$/.test(checksum)) throw new CatchUpError(`checkpoint checksum header "${checksum}" is not 16 hex characters`);
      const size = headerInt(headers, 'X-Tessera-Size');
      const bytes = await gunzip(gz).catch((e: unknown) => {
        throw new CatchUpError(`GET ${url}: the checkpoint does not gunzip: ${(e as Error).message}`);
      });
      if (bytes.byteLength !== size) throw new CatchUpError(`GET ${url}: the checkpoint gunzips to ${bytes.byteLength} bytes, X-Tessera-Size says ${size}`);
      return { epoch: headerInt(headers, 'X-Tessera-Epoch'), step: headerInt(headers, 'X-Tessera-Step'), checksum, bytes };
    },
    async agreedSince(fromStep) {
      if (bucket) {
        const got = await agreedFromBucket(origin, fromStep).catch((e: unknown) => {
          throw new CatchUpError((e as Error).message);
        });
        if (got === 'no-bucket') bucket = false;
        else if (got !== null) return got;
      }
      const { bytes } = await fetchBytes(new URL(`/api/updates?fromStep=${fromStep}`, origin).href);
      const bundle = decodeUpdateBundle(bytes);
      if (bundle.fromStep !== fromStep) throw new CatchUpError(`asked for updates from step ${fromStep}, got a bundle from ${bundle.fromStep}`);
      for (const round of bundle.rounds) {
        round.payloads.forEach((p, i) => {
          if (bytesToHex(commitment(p)) !== round.hashes[i]) throw new CatchUpError(`step ${round.step}: payload ${i} does not match its hash`);
        });
      }
      return { toStep: bundle.toStep, rounds: bundle.rounds };
    },
    async putCheckpoint(step, clientId, bytes, signature) {
      // Weights compress a little; the upload is the whole model, so every percent is worth the CPU.
      const body = await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
      const url = new URL(`/api/checkpoint/${step}?client=${clientId}`, origin).href;
      const res = await fetch(url, { method: 'PUT', headers: { 'Content-Encoding': 'gzip', 'X-Tessera-Signature': bytesToHex(signature) }, body });
      const text = await res.text().catch(() => '');
      if (!res.ok) throw new CatchUpError(`PUT ${url}: HTTP ${res.status} ${text}`.trim());
      return text;
    },
  };
}

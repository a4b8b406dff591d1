/**
 * A joiner's agreed updates from the coordinator's payload bucket
 * (`GET /api/updates/urls`, src/net/update-urls.ts): the round list from the
 * coordinator, the bytes from the bucket, each checked against its hash.
 * Null tells catch-up.ts to read the coordinator's bundle instead: on a relay
 * coordinator (404 no-bucket), or when an object is missing or fails its
 * hash, since a joiner must apply every agreed update and the coordinator
 * keeps its own checked copy of each.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import type { BundleRound } from '../net/update-bundle';
import { updateUrlsSchema } from '../net/update-urls';
import { commitment } from '../protocol/commitment';

export type BucketUpdates = { toStep: number; rounds: BundleRound[] } | 'no-bucket' | null;

export async function agreedFromBucket(origin: string, fromStep: number, fetchFn: typeof fetch = (i, o) => globalThis.fetch(i, o)): Promise<BucketUpdates> {
  const url = new URL(`/api/updates/urls?fromStep=${fromStep}`, origin).href;
  const res = await fetchFn(url, { cache: 'no-store' });
  if (res.status === 404) {
    const body = z.object({ error: z.string() }).safeParse(await res.json().catch(() => null));
    if (body.success && body.data.error === 'no-bucket') return 'no-bucket';
  }
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const index = updateUrlsSchema.safeParse(await res.json());
  if (!index.success) throw new Error(`GET ${url}: ${z.prettifyError(index.error)}`);
  if (index.data.fromStep !== fromStep) throw new Error(`asked for updates from step ${fromStep}, got an index from ${index.data.fromStep}`);
  const rounds: BundleRound[] = [];
  for (const { urls, ...round } of index.data.rounds) {
    const payloads: Uint8Array[] = [];
    for (const [i, u] of urls.entries()) {
      const bytes = await fetchFn(u, { cache: 'no-store' })
        .then(async (r) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : null))
        .catch(() => null);
      if (bytes === null || bytesToHex(commitment(bytes)) !== round.hashes[i]) {
        console.warn(`catch-up: the bucket's payload ${i} of step ${round.step} is missing or does not match its hash; reading the coordinator's copy`);
        return null;
      }
      payloads.push(bytes);
    }
    rounds.push({ ...round, payloads });
  }
  return { toStep: index.data.toStep, rounds };
}

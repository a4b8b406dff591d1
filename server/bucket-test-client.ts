/**
 * What a client does with a payload bucket (payload-store.ts), over a
 * TestClient's socket and plain fetch: the protocol-level twin of
 * src/run-client/payload-store-client.ts, for the server tests.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { signCommitment } from '../src/protocol/commitment';
import type { TestClient } from './test-client';

/** commit → uploadUrl → PUT → uploaded → ack; returns the hash. Throws when a step is refused. */
export async function commitToBucket(c: TestClient, runId: string, step: number, payload: Uint8Array): Promise<string> {
  const hash = bytesToHex(sha256(payload));
  const signature = signCommitment(hexToBytes(hash), c.keys.secretKey, { runId: hexToBytes(runId), step });
  c.sendJson({ type: 'commit', step, hash, signature: bytesToHex(signature) });
  const put = await c.next('uploadUrl', (m) => m.hash === hash);
  if (put.size !== payload.length) throw new Error(`the server signed a PUT of ${put.size} bytes for a ${payload.length}-byte update`);
  const res = await fetch(put.url, { method: 'PUT', body: payload as BodyInit });
  if (!res.ok) throw new Error(`PUT ${put.url}: HTTP ${res.status} ${await res.text()}`);
  c.sendJson({ type: 'uploaded', step, hash });
  await c.next('ack', (m) => m.of === 'commit' && m.hash === hash);
  return hash;
}

/** payloadGet → payloadUrl → GET; the bytes when they match `hash`, null when the bucket holds something else. */
export async function readFromBucket(c: TestClient, hash: string): Promise<Uint8Array | null> {
  c.sendJson({ type: 'payloadGet', hash });
  const { url } = await c.next('payloadUrl', (m) => m.hash === hash);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return bytesToHex(sha256(bytes)) === hash ? bytes : null;
}

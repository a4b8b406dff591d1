import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bucketPayloadStore } from '../../server/bucket-store';
import { parseBucketOptions } from '../../server/bucket-options';
import { startTestBucket, type TestBucket } from '../../server/test-bucket';
import type { ClientMessage, ServerMessageOf } from '../net/messages';
import { PayloadStoreClient } from './payload-store-client';
import { hashOf, payload } from './test-fakes';

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await startTestBucket();
});
afterAll(() => bucket.stop());

function client() {
  const sent: ClientMessage[] = [];
  const delivered: { hash: string; bytes: Uint8Array }[] = [];
  const store = new PayloadStoreClient({ send: (m) => (sent.push(m), true), deliver: (hash, bytes) => delivered.push({ hash, bytes }) });
  return { store, sent, delivered };
}

async function uploadUrl(step: number, bytes: Uint8Array, signer = bucketPayloadStore(bucket.options)): Promise<ServerMessageOf<'uploadUrl'>> {
  const hash = hashOf(bytes);
  const s = await signer.uploadUrl(hash, bytes.length);
  return { type: 'uploadUrl', step, hash, url: s.url, size: bytes.length, expiresAt: s.expiresAt };
}

async function payloadUrl(hash: string): Promise<ServerMessageOf<'payloadUrl'>> {
  const s = await bucketPayloadStore(bucket.options).downloadUrl(hash);
  return { type: 'payloadUrl', hash, url: s.url, expiresAt: s.expiresAt };
}

describe('PayloadStoreClient (against s3rver)', () => {
  it('asks the relay until the welcome names a bucket, then asks for URLs', () => {
    const { store, sent } = client();
    const hash = hashOf(payload(1));
    store.ask(hash);
    store.kind = 'bucket';
    store.ask(hash);
    expect(sent).toEqual([
      { type: 'relayGet', hash },
      { type: 'payloadGet', hash },
    ]);
  });

  it('PUTs its update to the presigned URL, then says uploaded; the bucket holds exactly those bytes', async () => {
    const { store, sent } = client();
    const bytes = payload(2, 300);
    const msg = await uploadUrl(4, bytes);
    expect(await store.upload(msg, { step: 4, hash: msg.hash, bytes })).toBe(true);
    expect(sent).toEqual([{ type: 'uploaded', step: 4, hash: msg.hash }]);
    expect(await bucketPayloadStore(bucket.options).get(msg.hash)).toEqual(bytes);
    expect(store.bytesSent).toBe(300);
  });

  it('uploads nothing for a URL that is not for its latest update, nor when the signed size differs, nor through an expired URL', async () => {
    const { store, sent } = client();
    const bytes = payload(3, 100);
    const msg = await uploadUrl(4, bytes);
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await store.upload(msg, null)).toBe(false);
    expect(await store.upload({ ...msg, step: 5 }, { step: 4, hash: msg.hash, bytes })).toBe(false);
    expect(await store.upload({ ...msg, size: 99 }, { step: 4, hash: msg.hash, bytes })).toBe(false);
    const stale = bucketPayloadStore(parseBucketOptions({ ...bucket.options, uploadExpirySeconds: 1 }), () => Date.now() - 10_000);
    expect(await store.upload(await uploadUrl(4, bytes, stale), { step: 4, hash: msg.hash, bytes })).toBe(false);
    expect(sent).toEqual([]);
    expect(await bucketPayloadStore(bucket.options).get(msg.hash)).toBeNull();
    vi.restoreAllMocks();
  });

  it('delivers a download that matches its hash, and drops a tampered object as missing', async () => {
    const { store, delivered } = client();
    const server = bucketPayloadStore(bucket.options);
    const good = payload(5, 200);
    const origin = { step: 1, clientId: 'a'.repeat(64), at: 0 };
    await server.put(hashOf(good), good, origin);
    expect(await store.download(await payloadUrl(hashOf(good)))).toBe(true);
    expect(delivered).toEqual([{ hash: hashOf(good), bytes: good }]);
    const victim = payload(6, 200);
    await server.put(hashOf(victim), payload(7, 200), origin); // other bytes under victim's name
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await store.download(await payloadUrl(hashOf(victim)))).toBe(false);
    expect(delivered).toHaveLength(1);
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await store.download(await payloadUrl(hashOf(payload(8))))).toBe(false); // never uploaded: 404
    expect(delivered).toHaveLength(1);
    vi.restoreAllMocks();
  });

  it('checks downloads with the hash it is given (the simulator passes Node’s SHA-256), tampered objects still dropped', async () => {
    const delivered: string[] = [];
    const hashed: number[] = [];
    const native = (bytes: Uint8Array) => (hashed.push(bytes.length), createHash('sha256').update(bytes).digest('hex'));
    const store = new PayloadStoreClient({ send: () => true, deliver: (hash) => delivered.push(hash), hash: native });
    const server = bucketPayloadStore(bucket.options);
    const origin = { step: 1, clientId: 'b'.repeat(64), at: 0 };
    const good = payload(11, 300);
    await server.put(hashOf(good), good, origin);
    expect(await store.download(await payloadUrl(hashOf(good)))).toBe(true);
    const victim = payload(12, 300);
    await server.put(hashOf(victim), payload(13, 300), origin);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await store.download(await payloadUrl(hashOf(victim)))).toBe(false);
    vi.restoreAllMocks();
    expect(delivered).toEqual([hashOf(good)]);
    expect(hashed).toEqual([300, 300]);
  });
});

import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseBucketOptions } from './bucket-options';
import { bucketPayloadStore } from './bucket-store';
import { PayloadTooLarge, relayPayloadStore } from './payload-store';
import { Store } from './store';
import { startTestBucket, type TestBucket } from './test-bucket';
import { tempDir } from './test-server';

const bytesOf = (text: string) => new TextEncoder().encode(text);
const hashOf = (b: Uint8Array) => bytesToHex(sha256(b));
const origin = { step: 3, clientId: 'a'.repeat(64), at: 1 };

describe('the relay payload store', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('puts and gets by SHA-256 in the SQLite table the round gate archives to, with its origin', async () => {
    const { dir, cleanup } = tempDir();
    const store = Store.open(join(dir, 'run.sqlite'));
    cleanups.push(cleanup, () => store.close());
    const relay = relayPayloadStore(store);
    const bytes = bytesOf('an update');
    const hash = hashOf(bytes);
    expect(await relay.get(hash)).toBeNull();
    await relay.put(hash, bytes, origin);
    expect(await relay.get(hash)).toEqual(bytes);
    expect(store.payloadOrigin(hash)).toEqual({ clientId: origin.clientId, step: 3 });
    await expect(relay.get(hash, bytes.length - 1)).rejects.toBeInstanceOf(PayloadTooLarge);
  });
});

describe('the bucket payload store (against s3rver)', () => {
  let bucket: TestBucket;
  beforeAll(async () => {
    bucket = await startTestBucket();
  });
  afterAll(() => bucket.stop());

  it('puts and gets objects named prefix + hex SHA-256; a missing one is null', async () => {
    const store = bucketPayloadStore(bucket.options);
    const bytes = bytesOf('bucket bytes');
    const hash = hashOf(bytes);
    expect(store.key(hash)).toBe(`payloads/${hash}`);
    expect(await store.get(hash)).toBeNull();
    await store.put(hash, bytes, origin);
    expect(await store.get(hash)).toEqual(bytes);
    // The object really is at that key: a presigned GET of the key reads the same bytes.
    const { url } = await store.downloadUrl(hash);
    expect(new URL(url).pathname).toBe(`/tessera-test/payloads/${hash}`);
    expect(new Uint8Array(await (await fetch(url)).arrayBuffer())).toEqual(bytes);
    await expect(store.get(hash, bytes.length - 1)).rejects.toBeInstanceOf(PayloadTooLarge);
  });

  it('a presigned PUT signs the exact length and the SHA-256, and uploads the bytes', async () => {
    const store = bucketPayloadStore(bucket.options);
    const bytes = bytesOf('uploaded by a client');
    const hash = hashOf(bytes);
    const signed = await store.uploadUrl(hash, bytes.length);
    const q = new URL(signed.url).searchParams;
    expect(q.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length');
    expect(q.get('x-amz-checksum-sha256')).toBe(Buffer.from(sha256(bytes)).toString('base64'));
    expect(Number(q.get('X-Amz-Expires'))).toBe(bucket.options.uploadExpirySeconds);
    // A URL for one length is not a URL for another: S3 would refuse a body of any other size.
    const other = await store.uploadUrl(hash, bytes.length + 1);
    expect(new URL(other.url).searchParams.get('X-Amz-Signature')).not.toBe(q.get('X-Amz-Signature'));
    const res = await fetch(signed.url, { method: 'PUT', body: bytes });
    expect(res.status).toBe(200);
    expect(await store.get(hash)).toEqual(bytes);
  });

  it('refuses presigned URLs past their expiry (s3rver enforces it)', async () => {
    // Signed 10 s in the past with 1-2 s of life: already expired when used.
    const past = bucketPayloadStore(parseBucketOptions({ ...bucket.options, uploadExpirySeconds: 1, downloadExpirySeconds: 2 }), () => Date.now() - 10_000);
    const bytes = bytesOf('too late');
    const hash = hashOf(bytes);
    const put = await past.uploadUrl(hash, bytes.length);
    expect(put.expiresAt).toBeLessThan(Date.now());
    const res = await fetch(put.url, { method: 'PUT', body: bytes });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Request has expired');
    expect(await past.get(hash)).toBeNull();
    await past.put(hash, bytes, origin);
    const get = await fetch((await past.downloadUrl(hash)).url);
    expect(get.status).toBe(403);
    await get.arrayBuffer();
  });

  it('signs one GET URL per payload for half its life, then a fresh one', async () => {
    let t = Date.now();
    const store = bucketPayloadStore(parseBucketOptions({ ...bucket.options, downloadExpirySeconds: 600 }), () => t);
    const hash = hashOf(bytesOf('x'));
    const first = await store.downloadUrl(hash);
    t += 299_000;
    expect(await store.downloadUrl(hash)).toBe(first);
    t += 2000;
    const second = await store.downloadUrl(hash);
    expect(second.url).not.toBe(first.url);
    expect(second.expiresAt).toBe(t + 600_000);
  });
});

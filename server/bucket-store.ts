/**
 * The payload store on an S3-compatible bucket (payload-store.ts): objects
 * named prefix + hex SHA-256, presigned URLs with @aws-sdk/s3-request-presigner.
 *
 * A PUT URL signs the exact Content-Length and the SHA-256 checksum of the
 * committed bytes (x-amz-checksum-sha256), so S3 refuses any other body, a
 * second PUT of different bytes through the same URL included. Emulators may
 * check neither (s3rver checks only the expiry); nothing depends on it: the
 * coordinator checks what it reads back, and every client checks what it
 * downloads.
 *
 * GET URLs are cached per hash for half their life: every member asks for
 * the same N − 1 payloads each round, and one signature per payload is
 * enough (the URL is not bound to who asks).
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { BucketOptions } from './bucket-options';
import { PayloadTooLarge, type BucketPayloadStore, type SignedUrl } from './payload-store';

export function bucketPayloadStore(o: BucketOptions, now: () => number = Date.now): BucketPayloadStore {
  const s3 = new S3Client({
    region: o.region,
    ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
    forcePathStyle: o.forcePathStyle,
    ...(o.accessKeyId === undefined || o.secretAccessKey === undefined ? {} : { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } }),
    // The SDK's default adds a CRC32 of the empty body to presigned PUTs, which S3 then holds the upload to.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const key = (hash: string) => `${o.prefix}${hash}`;
  const gets = new Map<string, SignedUrl>();
  const sign = async (command: PutObjectCommand | GetObjectCommand, seconds: number): Promise<SignedUrl> => {
    const at = now();
    const url = await getSignedUrl(s3, command, { expiresIn: seconds, signingDate: new Date(at) });
    return { url, expiresAt: at + seconds * 1000 };
  };
  return {
    kind: 'bucket',
    key,
    async put(hash, bytes) {
      await s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key(hash), Body: bytes, ContentLength: bytes.length }));
    },
    async get(hash, maxBytes = Infinity) {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: key(hash) }));
        if (res.Body === undefined) return null;
        // Checked before reading: an object is only as small as the bucket enforced, and emulators enforce nothing.
        if ((res.ContentLength ?? 0) > maxBytes) {
          res.Body.transformToWebStream().cancel().catch(() => {});
          throw new PayloadTooLarge(hash, res.ContentLength ?? 0, maxBytes);
        }
        const bytes = await res.Body.transformToByteArray();
        if (bytes.length > maxBytes) throw new PayloadTooLarge(hash, bytes.length, maxBytes);
        return bytes;
      } catch (e) {
        if (e instanceof NoSuchKey || (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404)) return null;
        throw e;
      }
    },
    uploadUrl(hash, size) {
      const checksum = Buffer.from(hexToBytes(hash)).toString('base64');
      return sign(new PutObjectCommand({ Bucket: o.bucket, Key: key(hash), ContentLength: size, ChecksumSHA256: checksum }), o.uploadExpirySeconds);
    },
    async downloadUrl(hash) {
      const cached = gets.get(hash);
      const life = o.downloadExpirySeconds * 1000;
      if (cached !== undefined && cached.expiresAt - now() > life / 2) return cached;
      const signed = await sign(new GetObjectCommand({ Bucket: o.bucket, Key: key(hash) }), o.downloadExpirySeconds);
      // Stale entries go on the next miss; a round's hashes are few enough that this map stays small between sweeps.
      for (const [h, s] of gets) if (s.expiresAt - now() <= life / 2) gets.delete(h);
      gets.set(hash, signed);
      return signed;
    },
  };
}

/**
 * A local S3-compatible server (s3rver) for the tests: loopback, a free
 * port, a temp folder, one bucket; stop() removes it all. s3rver accepts any
 * signature from its one account (S3RVER/S3RVER) but does enforce a presigned
 * URL's expiry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { parseBucketOptions, type BucketOptions, type BucketOptionsInput } from './bucket-options';

export interface TestBucket {
  options: BucketOptions;
  endpoint: string;
  stop(): Promise<void>;
}

export async function startTestBucket(overrides: Partial<BucketOptionsInput> = {}): Promise<TestBucket> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-s3-'));
  const name = 'tessera-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const options = parseBucketOptions({ bucket: name, endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', ...overrides });
  return {
    options,
    endpoint,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

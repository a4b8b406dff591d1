/**
 * The simulation's payload bucket as a process of its own: the tests' local
 * S3 (server/test-bucket.ts, s3rver), so that its CPU is measured apart
 * from the coordinator's and the simulated clients'. Prints one JSON line
 * with its endpoint and bucket, and removes its folder on SIGTERM.
 */
import { startTestBucket } from '../server/test-bucket';

const bucket = await startTestBucket();
console.log(JSON.stringify({ endpoint: bucket.endpoint, bucket: bucket.options.bucket }));
process.once('SIGTERM', () => void bucket.stop().finally(() => process.exit(0)));

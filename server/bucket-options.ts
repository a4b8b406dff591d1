/**
 * The coordinator's payload bucket, from its command line (start.ts). A
 * deployment choice of the operator, like --db or --chain, and not part of
 * the run config: the run's identity (runId, model, data, schedule) is the
 * same whichever path the bytes take, a run can move between the relay and
 * a bucket across restarts, and credentials must never travel in a config
 * that every client receives in `welcome`.
 *
 * Credentials come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, a profile, an instance role) unless given here,
 * which only tests do.
 */
import { z } from 'zod';

export const bucketOptionsSchema = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'bucket must be an S3 bucket name: 3–63 lowercase letters, digits, dots and hyphens'),
  /** The S3 API's origin (MinIO, R2, an emulator); absent, AWS's own for the region. Clients reach it too, through the URLs. */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  region: z.string().min(1).default('us-east-1'),
  /** Put before every object key; several runs can share one bucket with one prefix each. */
  prefix: z
    .string()
    .max(200)
    .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'prefix must be empty or path segments that each end in /')
    .default('payloads/'),
  /** Most emulators and MinIO serve only path-style URLs (endpoint/bucket/key). */
  forcePathStyle: z.boolean().default(true),
  /** An author uploads right after its commit: a minute is plenty, and a leaked URL is soon useless. */
  uploadExpirySeconds: z.number().int().min(1).max(3600).default(60),
  /** Readers fetch within the round; a URL is cached for half its life (bucket-store.ts). */
  downloadExpirySeconds: z.number().int().min(2).max(86_400).default(600),
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
});

export type BucketOptions = z.output<typeof bucketOptionsSchema>;
export type BucketOptionsInput = z.input<typeof bucketOptionsSchema>;

export function parseBucketOptions(input: BucketOptionsInput): BucketOptions {
  const result = bucketOptionsSchema.safeParse(input);
  if (!result.success) throw new Error(`bad payload bucket options:\n${z.prettifyError(result.error)}`);
  return result.data;
}

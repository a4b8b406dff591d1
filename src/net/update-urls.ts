/**
 * `GET /api/updates/urls?fromStep=N` (server/api.ts), the catch-up bundle's
 * twin for a coordinator with a payload bucket: the same agreed rounds, with
 * a presigned GET URL per payload instead of the bytes, so a joining tab
 * downloads them from the bucket. A relay coordinator answers 404
 * `no-bucket`, and the tab reads the bundle instead.
 */
import { z } from 'zod';

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const roundSchema = z
  .strictObject({
    step: count,
    epoch: count,
    lrBits: z.number().int().min(0).max(0xffff_ffff),
    checksum: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
    slots: z.array(count),
    clients: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
    hashes: z.array(hash),
    urls: z.array(z.url({ protocol: /^https?$/ }).max(4096)),
  })
  .refine((r) => r.slots.length === r.clients.length && r.slots.length === r.hashes.length && r.slots.length === r.urls.length, 'slots, clients, hashes and urls must have one entry each per agreed update');

export const updateUrlsSchema = z.strictObject({ fromStep: count, toStep: count, rounds: z.array(roundSchema) });
export type UpdateUrls = z.output<typeof updateUrlsSchema>;

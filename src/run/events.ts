/**
 * The zod schema of the state machine's events (types.ts RunEvent). `step`
 * checks every event against it, so a malformed one (bad hex, wrong field
 * types, an unknown type) is rejected with the offending field named instead
 * of reaching the state.
 */
import { z } from 'zod';
import type { RunEvent } from './types';

const now = z.number().finite().min(0);
const clientId = z.string().regex(/^[0-9a-f]{64}$/, 'clientId must be 64 lowercase hex characters (an ed25519 public key)');
const stepNo = z.number().int().min(0);
const hex64 = (what: string) => z.string().regex(/^[0-9a-f]{64}$/, `${what} must be 64 lowercase hex characters`);
const permille = z.number().int().min(-1000).max(1000);
const scoresSchema = z.array(z.object({ slot: z.number().int().min(0), score: permille }).strict()).max(256);

export const runEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('join'), clientId, now }).strict(),
  z.object({ type: z.literal('leave'), clientId, now }).strict(),
  z
    .object({
      type: z.literal('commit'),
      clientId,
      step: stepNo,
      hash: hex64('hash (SHA-256)'),
      // Whether it fits the assignment is the machine's check (countError).
      count: z.number().int().optional(),
      overlap: z.object({ permille: z.number().int().min(0).max(1000), with: hex64('overlap.with') }).strict().nullable(),
      now,
    })
    .strict(),
  z
    .object({
      type: z.literal('witness'),
      clientId,
      step: stepNo,
      // The exact length depends on the round; the machine checks it.
      held: z.string().regex(/^([0-9a-f]{2})*$/, 'held must be lowercase hex, whole bytes'),
      checksum: z.string().regex(/^[0-9a-f]{16}$/, 'checksum must be 16 lowercase hex characters'),
      scores: scoresSchema,
      now,
    })
    .strict(),
  z.object({ type: z.literal('draw'), step: stepNo, salt: hex64('salt'), now }).strict(),
  z.object({ type: z.literal('tick'), now }).strict(),
  z.object({ type: z.literal('pause'), now }).strict(),
  z.object({ type: z.literal('resume'), now }).strict(),
  z.object({ type: z.literal('recovered'), now }).strict(),
]);

/** The event, or a one-line reason naming the first bad field. */
export function parseRunEvent(input: unknown): { ok: true; event: RunEvent } | { ok: false; reason: string } {
  const result = runEventSchema.safeParse(input);
  if (result.success) return { ok: true, event: result.data };
  const issue = result.error.issues[0];
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, reason: `invalid event: ${where}${issue.message}` };
}

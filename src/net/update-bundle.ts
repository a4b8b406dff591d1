/**
 * The catch-up bundle of `GET /api/updates?fromStep=N` (served by server/api.ts): the agreed sets from
 * step N on, with their payloads, in one response. A joining client loads the
 * latest checkpoint (its step S), fetches fromStep=S, applies the rounds in
 * order, and fetches again from `toStep` until it reaches the live round.
 *
 *   off  size  field
 *     0     4  header length h, u32 little-endian
 *     4     h  header, UTF-8 JSON: {fromStep, toStep, rounds: [{step, epoch,
 *              lrBits, checksum, slots, clients, hashes, sizes}]}; toStep is one past
 *              the last round included (fromStep when there is none)
 *   4+h     …  every round's payloads, round by round, in slot order, each
 *              sizes[i] bytes; nothing after them
 *
 * Pure TypeScript with no Node imports, so the client can decode it too.
 */
import { z } from 'zod';

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const roundSchema = z
  .strictObject({
    step: count,
    epoch: count,
    lrBits: z.number().int().min(0).max(0xffff_ffff),
    /** The agreed checksum before this round's apply (null: nobody witnessed); a resuming tab checks its own against it. */
    checksum: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
    slots: z.array(count),
    clients: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
    hashes: z.array(hash),
    sizes: z.array(count),
  })
  .refine((r) => r.slots.length === r.clients.length && r.slots.length === r.hashes.length && r.slots.length === r.sizes.length, 'slots, clients, hashes and sizes must have one entry each per agreed update');

const headerSchema = z.strictObject({ fromStep: count, toStep: count, rounds: z.array(roundSchema) });

export type BundleHeader = z.output<typeof headerSchema>;
export type BundleRound = Omit<BundleHeader['rounds'][number], 'sizes'> & { payloads: Uint8Array[] };

export class UpdateBundleError extends Error {
  override name = 'UpdateBundleError';
}

export function encodeUpdateBundle(fromStep: number, rounds: readonly BundleRound[]): Uint8Array {
  const toStep = rounds.length === 0 ? fromStep : rounds[rounds.length - 1].step + 1;
  const header: BundleHeader = {
    fromStep,
    toStep,
    rounds: rounds.map(({ payloads, ...r }) => ({ ...r, sizes: payloads.map((p) => p.length) })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const total = rounds.reduce((n, r) => n + r.payloads.reduce((m, p) => m + p.length, 0), 0);
  const out = new Uint8Array(4 + json.length + total);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let off = 4 + json.length;
  for (const r of rounds) {
    for (const p of r.payloads) {
      out.set(p, off);
      off += p.length;
    }
  }
  return out;
}

export function decodeUpdateBundle(bytes: Uint8Array): { fromStep: number; toStep: number; rounds: BundleRound[] } {
  if (bytes.length < 4) throw new UpdateBundleError(`bundle is ${bytes.length} bytes, shorter than its header length`);
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + h > bytes.length) throw new UpdateBundleError(`bundle header length ${h} runs past the ${bytes.length}-byte bundle`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + h)));
  } catch (e) {
    throw new UpdateBundleError(`bundle header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) throw new UpdateBundleError(`bad bundle header:\n${z.prettifyError(parsed.error)}`);
  let off = 4 + h;
  const rounds = parsed.data.rounds.map(({ sizes, ...r }) => {
    const payloads = sizes.map((n) => {
      if (off + n > bytes.length) throw new UpdateBundleError(`round ${r.step}: payload runs past the end of the bundle`);
      const p = bytes.slice(off, off + n);
      off += n;
      return p;
    });
    return { ...r, payloads };
  });
  if (off !== bytes.length) throw new UpdateBundleError(`${bytes.length - off} bytes after the last payload`);
  return { fromStep: parsed.data.fromStep, toStep: parsed.data.toStep, rounds };
}

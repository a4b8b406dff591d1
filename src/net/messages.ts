/**
 * Every message on the coordinator socket, both ways (docs/run.md "Socket
 * protocol"), as zod schemas shared by the server and the client. A frame is
 * trusted only after it parses here: objects are strict (unknown fields are
 * errors), hex has its exact length, arrays and strings are bounded.
 *
 * Text frames are JSON objects with a `type`. Binary frames carry payloads:
 *
 *   off  size  field
 *     0     4  header length h, u32 little-endian, 2 ≤ h ≤ MAX_BINARY_HEADER_BYTES
 *     4     h  header, UTF-8 JSON: {type: 'relayPut', step, hash} from a
 *              client, {type: 'relayData', hash} from the server
 *   4+h     …  the payload bytes (an encoded update)
 *
 * A round, from a member's side: `round` (slots, assignments, lrBits) →
 * train → `commit {step, hash, signature, count?, stats?}` then the binary `relayPut` of the
 * exact bytes → `ack {of: 'commit'}` once the server holds and checked both
 * (server/round-gate.ts; the server archives every payload for checkpoints
 * and catch-up) → peers learn each commitment from the state
 * (round.commitments, in a `stateDelta`) and fetch payloads over the mesh or with `relayGet` →
 * `phase {to: 'RoundWitness'}` → `witness` → `ack {of: 'witness'}` →
 * `agreed`, `points`, maybe `resync` (to that client only).
 *
 * With a payload bucket (`welcome.payloadStore === 'bucket'`, server/payload-store.ts) no payload
 * bytes cross this socket: `commit` → `uploadUrl` → the tab PUTs the bytes to the bucket →
 * `uploaded` → `ack {of: 'commit'}` once the server has read and checked the object; readers send
 * `payloadGet` and fetch the `payloadUrl`. `relayPut` and `relayGet` are then refused (`wrong-store`).
 */
import { z } from 'zod';
import { runConfigSchema } from '../run/run-config';
import type { RunState } from '../run/types';
import { patchSchemaFor } from './patch-schema';

/** Largest text frame either side accepts. */
export const MAX_TEXT_FRAME_BYTES = 64 * 1024;
/** Largest WebRTC signal (SDP offer/answer or ICE candidate) relayed, as JSON text. */
export const MAX_SIGNAL_BYTES = 16 * 1024;
export const MAX_BINARY_HEADER_BYTES = 1024;
/** Most slots a round can have; bounds bitmaps and per-slot arrays. */
export const MAX_SLOTS = 4096;
const MAX_CLIENTS = 100_000;
/**
 * Most characters of one message joined from `part` frames
 * (src/net/message-parts.ts): a whole state of MAX_CLIENTS records of about
 * 640 characters, which a record keeps to while its unvested list is short.
 * A tab holds at most this much of a message being joined.
 */
export const MAX_MESSAGE_CHARS = MAX_CLIENTS * 640;
/** Most frames one message is cut into (each carries at least 20 Ki characters but the last). */
export const MAX_MESSAGE_PARTS = 4096;

export const MESSAGE_ERROR_CODES = [
  'too-large',
  'bad-json',
  'bad-message',
  'bad-frame',
  'not-authenticated',
  'already-authenticated',
  'bad-signature',
  'stale-step',
  'wrong-phase',
  'not-in-round',
  'already-committed',
  'no-commitment',
  'hash-mismatch',
  'bad-payload',
  'unknown-peer',
  'not-found',
  'wrong-store',
  'rejected',
  'dropped',
  'ejected',
  'replaced',
  'too-many-errors',
  'internal',
] as const;
export type MessageErrorCode = (typeof MESSAGE_ERROR_CODES)[number];

/** A frame that is not a valid message; `code` goes back to the sender in an `error`. */
export class MessageError extends Error {
  override name = 'MessageError';
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Building blocks

const hex = (bytes: number, what: string) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`), `${what} must be ${2 * bytes} lowercase hex characters (${bytes} bytes)`);

export const clientIdSchema = hex(32, 'client id (ed25519 public key)');
export const signatureSchema = hex(64, 'ed25519 signature');
export const hashSchema = hex(32, 'SHA-256 hash');
export const checksumSchema = hex(8, 'parameter checksum');
export const runIdSchema = hex(16, 'run id');
const u32 = z.number().int().min(0).max(0xffff_ffff);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const time = z.number().min(0);
/** ⌈slots/8⌉ bytes; the exact length is checked against the round where the round is known. */
const heldSchema = z
  .string()
  .max(2 * Math.ceil(MAX_SLOTS / 8), `held bitmap is longer than ${MAX_SLOTS} slots`)
  .regex(/^(?:[0-9a-f]{2})+$/, 'held must be a non-empty even-length lowercase hex bitmap');

const signalData = z.json().refine((d) => JSON.stringify(d).length <= MAX_SIGNAL_BYTES, {
  message: `signal data is larger than ${MAX_SIGNAL_BYTES} bytes as JSON`,
});

const permille = z.number().int().min(-1000).max(1000);
/** A verifier's scores, one per checked slot it verifies (the machine checks which slots). */
export const scoresSchema = z.array(z.strictObject({ slot: z.number().int().min(0).max(MAX_SLOTS - 1), score: permille })).max(256);

const phaseSchema = z.enum(['WaitingForMembers', 'Warmup', 'RoundTrain', 'RoundWitness', 'Cooldown', 'Paused', 'Finished']);

// ---------------------------------------------------------------------------
// The run state as it travels (state, stateDelta): the same shape as src/run/types.ts.

const roundFields = z.strictObject({
  step: u32,
  seed: hashSchema,
  slots: z.array(clientIdSchema).max(MAX_SLOTS),
  assignments: z.array(z.strictObject({ start: count, count })).max(MAX_SLOTS),
  lrBits: u32,
  commitments: z.array(hashSchema.nullable()).max(MAX_SLOTS),
  trained: z.array(count.nullable()).max(MAX_SLOTS),
  witnesses: z.array(z.strictObject({ held: heldSchema, checksum: checksumSchema, scores: scoresSchema }).nullable()).max(MAX_SLOTS),
  copies: z.array(z.string().max(500).nullable()).max(MAX_SLOTS),
  overlaps: z.array(z.strictObject({ permille: z.number().int().min(0).max(1000), with: hashSchema }).nullable()).max(MAX_SLOTS),
  checks: z.array(z.strictObject({ slot: count, verifiers: z.array(clientIdSchema).max(16), units: z.array(count).max(16) })).max(MAX_SLOTS).nullable(),
  startedAt: time,
  base: u32,
  closedAt: time.nullable(),
});

// A state stored before pipelined rounds lacks `base` and `closedAt`: such a round trained after every earlier one.
// One stored before the copy rule (src/run/copy-rule.ts) lacks `overlaps`: its copies were decided at each commit, and stay.
// One stored before time boxes lacks `trained`: each commit trained its whole assignment.
const roundSchema = z.preprocess((v) => withTrained(withOverlaps(withBase(v))), roundFields);

function withBase(v: unknown): unknown {
  return typeof v === 'object' && v !== null && !('base' in v) && 'step' in v ? { ...v, base: (v as { step: unknown }).step, closedAt: null } : v;
}

function withOverlaps(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || 'overlaps' in v || !('copies' in v) || !Array.isArray(v.copies)) return v;
  return { ...v, overlaps: v.copies.map(() => null) };
}

function withTrained(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || 'trained' in v || !('commitments' in v) || !Array.isArray(v.commitments)) return v;
  const assignments = 'assignments' in v && Array.isArray(v.assignments) ? (v.assignments as { count?: unknown }[]) : [];
  return { ...v, trained: v.commitments.map((h, i) => (h === null ? null : (assignments[i]?.count ?? null))) };
}

const clientRecordSchema = z.strictObject({
  id: clientIdSchema,
  status: z.enum(['joining', 'member', 'gone', 'ejected']),
  joinSeq: count,
  missedRounds: count,
  points: count,
  agreedUpdates: count,
  verifiedRounds: count,
  strikes: count,
  contradictions: count,
  unvested: z.array(z.strictObject({ step: count, amount: count })).max(100_000),
  forfeited: count,
  // A state stored before shares by pace has no pace: not measured yet.
  pace: count.nullable().default(null),
});

export const runStateSchema = z.strictObject({
  version: z.literal(2),
  phase: phaseSchema,
  phaseStartedAt: time,
  pausedFrom: phaseSchema.nullable(),
  epoch: count,
  epochStartedAt: time,
  epochStartStep: count,
  step: count,
  dataCursor: count,
  tokensSeen: count,
  nextJoinSeq: count,
  clients: z
    .record(clientIdSchema, clientRecordSchema)
    .refine((c) => Object.keys(c).length <= MAX_CLIENTS, `more than ${MAX_CLIENTS} clients`),
  round: roundSchema.nullable(),
  witnessing: roundSchema.nullable().default(null),
});

/** What changed between two states (src/run/state-diff.ts), each value checked against the state schema where it lands. */
export const stateChangesSchema = patchSchemaFor(runStateSchema, MAX_CLIENTS);

/** A coordinator process's state stream: 8 random bytes, new at each start, so versions of an earlier process are never mistaken for this one's. */
export const serverEpochSchema = hex(8, 'server epoch');

// Compile-time proof that a parsed state is a RunState (the schema may not drift from types.ts).
type Assignable<T, U> = T extends U ? true : never;
const stateSchemaMatchesTypes: Assignable<z.output<typeof runStateSchema>, RunState> = true;
void stateSchemaMatchesTypes;

// ---------------------------------------------------------------------------
// Client → server (text)

export const authMessageSchema = z.strictObject({ type: z.literal('auth'), publicKey: clientIdSchema, signature: signatureSchema });
export const joinMessageSchema = z.strictObject({ type: z.literal('join') });
export const leaveMessageSchema = z.strictObject({ type: z.literal('leave') });
/** A duration a client reports, in ms: at most an hour. */
const reportedMs = z.number().finite().min(0).max(3_600_000);
/**
 * What a member reports with its commit, for the run's dashboard only (server/history.ts): this round's
 * training loss and time, and how long applying the previous round's agreed set took (absent when this tab
 * applied no previous round, as after joining from a checkpoint). Untrusted display data: the state machine
 * never sees it, the dashboard shows the median over a round's reporters, and the commit's signature covers
 * only the hash.
 */
export const commitStatsSchema = z.strictObject({
  loss: z.number().finite().min(0).max(100),
  trainMs: reportedMs,
  applyMs: reportedMs.optional(),
});
export type CommitStats = z.output<typeof commitStatsSchema>;
/** `stats` is optional: older clients send none. */
/**
 * `count`: the sequences the update trained from its assignment's start (its header's batch count), which sizes the
 * payload; only a time-boxed run (trainTimeBox) allows fewer than assigned. Left out: the whole assignment.
 */
export const commitMessageSchema = z.strictObject({
  type: z.literal('commit'),
  step: u32,
  hash: hashSchema,
  signature: signatureSchema,
  count: z.number().int().min(1).max(0xffff_ffff).optional(),
  stats: commitStatsSchema.optional(),
});

/** The stats a tab may send, or undefined when its loss is not a number the server accepts (a diverged run's NaN must not cost the commit). */
export function commitStats(loss: number, trainMs: number, applyMs?: number): CommitStats | undefined {
  const clampMs = (ms: number) => Math.min(Math.max(ms, 0), 3_600_000);
  if (!Number.isFinite(trainMs) || (applyMs !== undefined && !Number.isFinite(applyMs))) return undefined;
  const parsed = commitStatsSchema.safeParse({ loss, trainMs: clampMs(trainMs), ...(applyMs === undefined ? {} : { applyMs: clampMs(applyMs) }) });
  return parsed.success ? parsed.data : undefined;
}
export const witnessMessageSchema = z.strictObject({
  type: z.literal('witness'),
  step: u32,
  held: heldSchema,
  checksum: checksumSchema,
  scores: scoresSchema,
  signature: signatureSchema,
});
export const signalToSchema = z.strictObject({ type: z.literal('signal'), to: clientIdSchema, data: signalData });
export const relayGetSchema = z.strictObject({ type: z.literal('relayGet'), hash: hashSchema });
/** With a payload bucket: the author's object for its pending commit is uploaded; the server reads and checks it, then acks the commit. */
export const uploadedSchema = z.strictObject({ type: z.literal('uploaded'), step: u32, hash: hashSchema });
/** With a payload bucket: asks for a presigned GET URL of a payload the server holds (the bucket's relayGet). */
export const payloadGetSchema = z.strictObject({ type: z.literal('payloadGet'), hash: hashSchema });
/** Asks for the whole state (answered with `state`): a diff arrived that this client could not apply. */
export const stateGetSchema = z.strictObject({ type: z.literal('stateGet') });

export const clientMessageSchema = z.discriminatedUnion('type', [
  authMessageSchema,
  joinMessageSchema,
  leaveMessageSchema,
  commitMessageSchema,
  witnessMessageSchema,
  signalToSchema,
  relayGetSchema,
  uploadedSchema,
  payloadGetSchema,
  stateGetSchema,
]);
export type ClientMessage = z.output<typeof clientMessageSchema>;

// Client → server (binary header)
export const relayPutHeaderSchema = z.strictObject({ type: z.literal('relayPut'), step: u32, hash: hashSchema });
export type RelayPutHeader = z.output<typeof relayPutHeaderSchema>;

// ---------------------------------------------------------------------------
// Server → client (text)

/**
 * Where payload bytes travel besides the mesh (server/payload-store.ts): `relay`, binary frames on this socket;
 * `bucket`, presigned URLs of an S3-compatible bucket. An operator's deployment choice, so it comes with
 * `welcome` rather than the run config; absent means relay.
 */
export const payloadStoreKindSchema = z.enum(['relay', 'bucket']);
export type PayloadStoreKind = z.output<typeof payloadStoreKindSchema>;
/** A presigned URL; bounded like any other text (real ones are a few hundred characters). */
const presignedUrl = z.url({ protocol: /^https?$/ }).max(4096);

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), runId: runIdSchema, challenge: hashSchema }),
  /** The whole state follows in `state`. */
  z.strictObject({ type: z.literal('welcome'), clientId: clientIdSchema, config: runConfigSchema, payloadStore: payloadStoreKindSchema.optional() }),
  /** The answer to a commit when payloads go to a bucket: PUT exactly `size` bytes to `url` before `expiresAt` (ms since the epoch), then send `uploaded`. */
  z.strictObject({ type: z.literal('uploadUrl'), step: u32, hash: hashSchema, url: presignedUrl, size: count, expiresAt: time }),
  /** The answer to payloadGet: GET `url` before `expiresAt`; the bytes are the client's to check against `hash`. */
  z.strictObject({ type: z.literal('payloadUrl'), hash: hashSchema, url: presignedUrl, expiresAt: time }),
  z.strictObject({ type: z.literal('error'), code: z.enum(MESSAGE_ERROR_CODES), message: z.string().max(2000) }),
  /** The server accepted a client message; for `commit`, once it also holds the payload (relayPut, or `uploaded` and its read of the bucket). */
  z.strictObject({
    type: z.literal('ack'),
    of: z.enum(['join', 'leave', 'commit', 'witness']),
    step: u32.optional(),
    hash: hashSchema.optional(),
  }),
  z.strictObject({ type: z.literal('round'), epoch: count, round: roundSchema }),
  z.strictObject({ type: z.literal('phase'), from: phaseSchema, to: phaseSchema, step: count, epoch: count }),
  z.strictObject({
    type: z.literal('agreed'),
    step: count,
    epoch: count,
    slots: z.array(count).max(MAX_SLOTS),
    clients: z.array(clientIdSchema).max(MAX_SLOTS),
    hashes: z.array(hashSchema).max(MAX_SLOTS),
    lrBits: u32,
    excluded: z.array(z.strictObject({ slot: count, clientId: clientIdSchema, reason: z.string().max(1000) })).max(MAX_SLOTS),
    checksum: checksumSchema.nullable(),
    base: count,
  }),
  /** The whole state at `version` of the server's stream: after welcome, and for stateGet. */
  z.strictObject({ type: z.literal('state'), serverEpoch: serverEpochSchema, version: count, state: runStateSchema }),
  /** What the step that made state `version` changed in state `prev` (= version − 1). */
  z.strictObject({ type: z.literal('stateDelta'), serverEpoch: serverEpochSchema, version: count, prev: count, changes: stateChangesSchema }),
  /** One piece of a message's JSON text too large for a frame; the parts of one message come in order, back to back. */
  z.strictObject({
    type: z.literal('part'),
    part: z.number().int().min(0).max(MAX_MESSAGE_PARTS - 1),
    parts: z.number().int().min(2).max(MAX_MESSAGE_PARTS),
    text: z.string().min(1),
  }),
  z.strictObject({ type: z.literal('signal'), from: clientIdSchema, data: signalData }),
  z.strictObject({ type: z.literal('resync'), step: count, checksum: checksumSchema }),
  z.strictObject({ type: z.literal('points'), clientId: clientIdSchema, step: count, amount: count, total: count }),
]);
export type ServerMessage = z.output<typeof serverMessageSchema>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

// Server → client (binary header)
export const relayDataHeaderSchema = z.strictObject({ type: z.literal('relayData'), hash: hashSchema });
export type RelayDataHeader = z.output<typeof relayDataHeaderSchema>;

// ---------------------------------------------------------------------------
// Parsing

function parseJsonFrame<S extends z.ZodType>(text: string, schema: S, what: string, maxChars = MAX_TEXT_FRAME_BYTES): z.output<S> {
  if (text.length > maxChars) throw new MessageError('too-large', `${what} is ${text.length} characters; the limit is ${maxChars}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MessageError('bad-json', `${what} is not JSON: ${(e as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const type = typeof json === 'object' && json !== null && 'type' in json ? JSON.stringify((json as { type: unknown }).type).slice(0, 40) : 'none';
    throw new MessageError('bad-message', `invalid ${what} (type ${type}):\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/** A client's text frame, validated; throws MessageError naming what was wrong. */
export function parseClientMessage(text: string): ClientMessage {
  return parseJsonFrame(text, clientMessageSchema, 'client message');
}

/** A server's text frame, validated (the client's side of the same wire). */
export function parseServerMessage(text: string): ServerMessage {
  return parseJsonFrame(text, serverMessageSchema, 'server message');
}

/** A server message joined from `part` frames (src/net/message-parts.ts), validated; it may not be a part itself. */
export function parseServerMessageText(text: string): ServerMessage {
  const msg = parseJsonFrame(text, serverMessageSchema, 'server message in parts', MAX_MESSAGE_CHARS);
  if (msg.type === 'part') throw new MessageError('bad-frame', 'a message in parts may not be a part itself');
  return msg;
}

// ---------------------------------------------------------------------------
// Binary frames

export function encodeBinaryFrame(header: RelayPutHeader | RelayDataHeader, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > MAX_BINARY_HEADER_BYTES) throw new RangeError(`binary frame header is ${json.length} bytes; the limit is ${MAX_BINARY_HEADER_BYTES}`);
  const out = new Uint8Array(4 + json.length + payload.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(payload, 4 + json.length);
  return out;
}

function splitBinaryFrame<S extends z.ZodType>(bytes: Uint8Array, schema: S, maxBytes: number): { header: z.output<S>; payload: Uint8Array } {
  if (bytes.length > maxBytes) throw new MessageError('too-large', `binary frame is ${bytes.length} bytes; the limit is ${maxBytes}`);
  if (bytes.length < 4) throw new MessageError('bad-frame', `binary frame is ${bytes.length} bytes, shorter than its 4-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (headerLength < 2 || headerLength > MAX_BINARY_HEADER_BYTES || 4 + headerLength > bytes.length) {
    throw new MessageError('bad-frame', `binary frame header length ${headerLength} is not in [2, ${Math.min(MAX_BINARY_HEADER_BYTES, bytes.length - 4)}]`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + headerLength));
  } catch {
    throw new MessageError('bad-frame', 'binary frame header is not UTF-8');
  }
  const header = parseJsonFrame(text, schema, 'binary frame header');
  return { header, payload: bytes.slice(4 + headerLength) };
}

/** A client's binary frame (relayPut), validated up to the payload bytes, which the caller checks against the commitment. */
export function parseClientBinary(bytes: Uint8Array, maxBytes: number): { header: RelayPutHeader; payload: Uint8Array } {
  return splitBinaryFrame(bytes, relayPutHeaderSchema, maxBytes);
}

export function parseServerBinary(bytes: Uint8Array, maxBytes: number): { header: RelayDataHeader; payload: Uint8Array } {
  return splitBinaryFrame(bytes, relayDataHeaderSchema, maxBytes);
}

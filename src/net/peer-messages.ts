/**
 * What peers say to each other besides payload frames: small JSON control
 * messages on the data channel (text messages; payload frames are binary),
 * and the WebRTC signals they relay through the coordinator's socket. Both
 * come from another client, so both are validated on receipt.
 *
 * - `have {step, hashes}`: the commitments (SHA-256 hex) whose payloads the
 *   sender holds and verified for that step, so a peer can ask for what it lacks.
 * - `want {step, hash}`: please send that payload.
 */

import { z } from 'zod';

/** Longest control message accepted, checked before JSON.parse. */
export const MAX_PEER_MESSAGE_CHARS = 64 * 1024;
/** More hashes than any round has slots is a malformed `have`. */
export const MAX_HAVE_HASHES = 1024;

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'hash must be 64 lowercase hex characters (SHA-256)');
const stepSchema = z.number().int().min(0).max(0xffffffff);

export const haveMessageSchema = z.strictObject({
  type: z.literal('have'),
  step: stepSchema,
  hashes: z.array(hashSchema).max(MAX_HAVE_HASHES),
});

export const wantMessageSchema = z.strictObject({
  type: z.literal('want'),
  step: stepSchema,
  hash: hashSchema,
});

export const peerMessageSchema = z.discriminatedUnion('type', [haveMessageSchema, wantMessageSchema]);
export type PeerMessage = z.infer<typeof peerMessageSchema>;

/** A control message that failed validation; `message` says what was wrong. */
export class PeerMessageError extends Error {
  override readonly name = 'PeerMessageError';
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
}

/** Parses and validates one received text message. */
export function parsePeerMessage(text: string): PeerMessage {
  if (typeof text !== 'string') throw new PeerMessageError('control message must be text');
  if (text.length > MAX_PEER_MESSAGE_CHARS) throw new PeerMessageError(`control message of ${text.length} characters exceeds ${MAX_PEER_MESSAGE_CHARS}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PeerMessageError('control message is not JSON');
  }
  const parsed = peerMessageSchema.safeParse(json);
  if (!parsed.success) throw new PeerMessageError(`invalid control message: ${describe(parsed.error)}`);
  return parsed.data;
}

/** Validates an outgoing message too, so a bug here shows up at the sender, not as a peer's complaint. */
export function encodePeerMessage(message: PeerMessage): string {
  const parsed = peerMessageSchema.safeParse(message);
  if (!parsed.success) throw new PeerMessageError(`invalid control message: ${describe(parsed.error)}`);
  return JSON.stringify(parsed.data);
}

/**
 * simple-peer's signals for a data-only connection: the offer and answer
 * (SDP) and trickled ICE candidates; `renegotiate` is what a responder sends
 * when it wants a new offer. Media signals (transceiverRequest) are refused.
 */
export const signalDataSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.enum(['offer', 'answer']), sdp: z.string().min(1).max(64 * 1024) }),
  z.strictObject({
    type: z.literal('candidate'),
    candidate: z.strictObject({
      candidate: z.string().max(1024),
      sdpMLineIndex: z.number().int().min(0).max(65535).nullable().optional(),
      sdpMid: z.string().max(256).nullable().optional(),
      usernameFragment: z.string().max(256).nullable().optional(),
    }),
  }),
  z.strictObject({ type: z.literal('renegotiate'), renegotiate: z.literal(true) }),
]);
export type SignalData = z.infer<typeof signalDataSchema>;

/** Validates a signal relayed from another client. */
export function parseSignal(data: unknown): SignalData {
  const parsed = signalDataSchema.safeParse(data);
  if (!parsed.success) throw new PeerMessageError(`invalid signal: ${describe(parsed.error)}`);
  return parsed.data;
}

/** Client ids are hex public keys; anything non-empty and short is accepted so tests can use readable names. */
export const peerIdSchema = z.string().min(1).max(128);

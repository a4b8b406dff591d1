/**
 * Where update payloads travel between clients besides the WebRTC mesh
 * (docs/design.md §11 "Payload store"). Two kinds:
 *
 * - `relay` (the default): the coordinator itself. Authors send the bytes in
 *   a binary `relayPut`, peers read them with `relayGet` → `relayData`. The
 *   bytes pass through the coordinator both ways.
 * - `bucket`: an S3-compatible bucket, objects named by their SHA-256. The
 *   coordinator only signs URLs: a PUT for an author's accepted commitment,
 *   GETs for whoever asks for a payload it holds. It reads each upload once
 *   to check it (bucket-store.ts), and clients never send it payload bytes.
 *
 * Either way the coordinator keeps its own checked copy of every accepted
 * payload in SQLite (Store.putPayload): the copy check, checkpoints and the
 * catch-up fallback read that copy, never the bucket, so an object changed
 * after its check cannot reach the run's parameters.
 */
import { newPayloadTraffic, type PayloadTraffic } from './payload-traffic';
import type { Store } from './store';

/** A URL a client may use until `expiresAt` (ms since the epoch). */
export interface SignedUrl {
  url: string;
  expiresAt: number;
}

/** Who put a payload in, for which step, and when (the relay's archive keeps it beside the bytes). */
export interface PayloadOrigin {
  step: number;
  clientId: string;
  at: number;
}

interface PayloadBytes {
  /** Stores `bytes` under `hash`, the hex SHA-256 the caller checked them against. */
  put(hash: string, bytes: Uint8Array, origin: PayloadOrigin): Promise<void>;
  /** The bytes stored under `hash` now, or null when there are none; throws when there are more than `maxBytes`. */
  get(hash: string, maxBytes?: number): Promise<Uint8Array | null>;
}

export interface RelayPayloadStore extends PayloadBytes {
  readonly kind: 'relay';
}

export interface BucketPayloadStore extends PayloadBytes {
  readonly kind: 'bucket';
  /** A URL that accepts a PUT of exactly `size` bytes under `hash`, and nothing else, until it expires. */
  uploadUrl(hash: string, size: number): Promise<SignedUrl>;
  /** A URL to GET the object of `hash`. */
  downloadUrl(hash: string): Promise<SignedUrl>;
  /** The object's key in the bucket (prefix + hex SHA-256). */
  key(hash: string): string;
}

export type PayloadStore = RelayPayloadStore | BucketPayloadStore;

/** The store the socket and the HTTP API share, with the one set of counters they both add to. */
export interface Payloads {
  store: PayloadStore;
  traffic: PayloadTraffic;
}

export function payloadsIn(store: PayloadStore): Payloads {
  return { store, traffic: newPayloadTraffic() };
}

/** The coordinator's SQLite table as the relay: the same rows are its archive in bucket mode. */
export function relayPayloadStore(store: Store): RelayPayloadStore {
  return {
    kind: 'relay',
    put: async (hash, bytes, o) => store.putPayload(hash, o.step, o.clientId, bytes, o.at),
    get: async (hash, maxBytes = Infinity) => {
      const bytes = store.getPayload(hash);
      if (bytes !== null && bytes.length > maxBytes) throw new PayloadTooLarge(hash, bytes.length, maxBytes);
      return bytes;
    },
  };
}

export class PayloadTooLarge extends Error {
  override name = 'PayloadTooLarge';
  constructor(hash: string, size: number, maxBytes: number) {
    super(`payload ${hash} is ${size} bytes; at most ${maxBytes} were expected`);
  }
}

/**
 * The tab's side of the coordinator's payload store (server/payload-store.ts,
 * docs/design.md §11): with the relay, payloads are binary frames on the
 * socket; with a bucket, the tab PUTs its update to the presigned URL the
 * coordinator answers its commit with, tells it `uploaded`, and reads other
 * payloads from presigned GET URLs. The coordinator is trusted with neither
 * the bucket's bytes nor its own: a download that does not hash to its
 * commitment is dropped here, and the tab treats that payload as missing
 * (peers may still bring it; the witness says what the tab holds).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ClientMessage, PayloadStoreKind, ServerMessageOf } from '../net/messages';
import { commitment } from '../protocol/commitment';

export interface PayloadStoreDeps {
  send(msg: ClientMessage): boolean;
  /** A download that matched its hash. */
  deliver(hash: string, bytes: Uint8Array): void;
  fetch?: typeof fetch;
  /** Hex SHA-256 of a download (the commitment); the simulator, hashing for hundreds of clients on one thread, passes Node's. */
  hash?: (bytes: Uint8Array) => string;
}

/** The update this tab may upload: its latest, as RoundDuties keeps it. */
export interface OwnUpdate {
  step: number;
  hash: string;
  bytes: Uint8Array;
}

export class PayloadStoreClient {
  /** The coordinator's store, from its `welcome`; the relay until it says otherwise. */
  kind: PayloadStoreKind = 'relay';
  /** Payload bytes this tab sent to and read from the bucket. */
  bytesSent = 0;
  bytesReceived = 0;
  private readonly fetch: typeof fetch;
  private readonly hash: (bytes: Uint8Array) => string;

  constructor(private readonly deps: PayloadStoreDeps) {
    this.fetch = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.hash = deps.hash ?? ((bytes) => bytesToHex(commitment(bytes)));
  }

  /** Asks for a payload this tab lacks: the relay's bytes, or the bucket's URL. */
  ask(hash: string): void {
    this.deps.send(this.kind === 'bucket' ? { type: 'payloadGet', hash } : { type: 'relayGet', hash });
  }

  /**
   * PUTs this tab's update to the URL the coordinator signed for it, then says so. Only the update
   * committed for that step and hash, and only as many bytes as were signed for; false when nothing was sent.
   */
  async upload(msg: ServerMessageOf<'uploadUrl'>, own: OwnUpdate | null): Promise<boolean> {
    if (own === null || own.step !== msg.step || own.hash !== msg.hash) {
      console.warn(`payload store: an upload URL for ${msg.hash.slice(0, 12)} of step ${msg.step}, which is not this tab's latest update`);
      return false;
    }
    if (own.bytes.length !== msg.size) {
      console.error(`payload store: the coordinator signed ${msg.size} bytes for an update of ${own.bytes.length}; not uploading`);
      return false;
    }
    try {
      const res = await this.fetch(msg.url, { method: 'PUT', body: own.bytes as BodyInit, cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${(await res.text().catch(() => '')).slice(0, 300)}`);
    } catch (e) {
      // The commit stays pending on the coordinator; a reconnect's resend asks for a fresh URL.
      console.warn(`payload store: uploading ${msg.hash.slice(0, 12)} to the bucket failed: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
    this.bytesSent += own.bytes.length;
    return this.deps.send({ type: 'uploaded', step: msg.step, hash: msg.hash });
  }

  /** GETs a payload from its URL and hands it on if it hashes to its commitment; false when it did not arrive whole. */
  async download(msg: ServerMessageOf<'payloadUrl'>): Promise<boolean> {
    let bytes: Uint8Array;
    try {
      const res = await this.fetch(msg.url, { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      console.warn(`payload store: reading ${msg.hash.slice(0, 12)} from the bucket failed: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
    this.bytesReceived += bytes.length;
    if (this.hash(bytes) !== msg.hash) {
      console.error(`payload store: the bucket's object for ${msg.hash.slice(0, 12)} does not match its commitment; treating it as missing`);
      return false;
    }
    this.deps.deliver(msg.hash, bytes);
    return true;
  }
}

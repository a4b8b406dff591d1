/**
 * The update payloads a tab holds, by hash, with the round each arrived in:
 * its own, its peers' (over the mesh) and the relay's. Whoever needs one it
 * lacks asks the coordinator's relay for it and waits, for a while. With a
 * partial mesh a payload may still be travelling through forwarders, so the
 * relay is asked only after a grace (`storeDelayMs`) in which the mesh may
 * bring it: the store stays the fallback, not the first source.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { commitment } from '../protocol/commitment';

export const DEFAULT_RELAY_TIMEOUT_MS = 10_000;

export class PayloadInbox {
  private held = new Map<string, { step: number; bytes: Uint8Array }>();
  private readonly waiting = new Map<string, ((b: Uint8Array) => void)[]>();

  constructor(
    /** Asks the coordinator for the payload of `hash` (a `relayGet`, or a `payloadGet` with a bucket). */
    private readonly askRelay: (hash: string) => void,
    private readonly relayTimeoutMs = DEFAULT_RELAY_TIMEOUT_MS,
    /** How long to leave a missing payload to the mesh before asking the relay; 0 asks at once. */
    private readonly storeDelayMs: () => number = () => 0,
  ) {}

  has(hash: string): boolean {
    return this.held.has(hash);
  }

  get(hash: string): Uint8Array | undefined {
    return this.held.get(hash)?.bytes;
  }

  /** This tab's own update of round `step`. */
  keep(hash: string, step: number, bytes: Uint8Array): void {
    this.held.set(hash, { step, bytes });
  }

  /** A payload from a peer, the relay or the bucket while round `step` runs; it answers whoever waits for it. */
  receive(hash: string, bytes: Uint8Array, from: 'peer' | 'relay' | 'bucket', step: number): void {
    // The mesh verified peer payloads; the others are checked here (neither the coordinator nor its bucket is trusted with bytes).
    if (from !== 'peer' && bytesToHex(commitment(bytes)) !== hash) {
      console.error(`the ${from} sent a payload that does not match hash ${hash}`);
      return;
    }
    if (!this.held.has(hash)) this.held.set(hash, { step, bytes });
    for (const resolve of this.waiting.get(hash) ?? []) resolve(bytes);
    this.waiting.delete(hash);
  }

  /** The payload for `hash`: held already, or asked of the relay. */
  want(hash: string): Promise<Uint8Array> {
    const held = this.held.get(hash);
    if (held) return Promise.resolve(held.bytes);
    const timeoutMs = this.relayTimeoutMs;
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(hash) ?? [];
      // One relay request per payload, however many duties wait for it at once.
      if (list.length === 0) this.askLater(hash, timeoutMs);
      const answer = (b: Uint8Array) => {
        clearTimeout(timer);
        resolve(b);
      };
      const timer = setTimeout(() => {
        // A later want asks the relay again.
        const left = (this.waiting.get(hash) ?? []).filter((f) => f !== answer);
        if (left.length > 0) this.waiting.set(hash, left);
        else this.waiting.delete(hash);
        reject(new Error(`payload ${hash.slice(0, 12)} did not arrive within ${timeoutMs} ms`));
      }, timeoutMs);
      list.push(answer);
      this.waiting.set(hash, list);
    });
  }

  /** Asks the relay after the mesh's grace (within the first half of the timeout, so the relay has time to answer), unless the payload came meanwhile. */
  private askLater(hash: string, timeoutMs: number): void {
    const delay = Math.min(Math.max(0, this.storeDelayMs()), timeoutMs / 2);
    if (delay === 0) return this.askRelay(hash);
    setTimeout(() => {
      if (!this.held.has(hash) && this.waiting.has(hash)) this.askRelay(hash);
    }, delay);
  }

  /**
   * Keeps round `step`'s payloads and the two before (a late witness or
   * apply may still want those: pipelined, round step − 2 is applied while
   * round step trains), no older.
   */
  prune(step: number): void {
    this.held = new Map([...this.held].filter(([, p]) => p.step >= step - 2));
  }
}

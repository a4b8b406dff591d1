/**
 * Forwarding over a partial mesh (docs/design.md §11, "Partial mesh"): a tab
 * links to a few members only (src/net/mesh-links.ts), so the payloads of
 * the others reach it through its links.
 *
 * - An author pushes its own update to its links (RoundDuties.offerToPeers
 *   sends through `send` here): they lack it for certain.
 * - Every later hop pulls: a tab that comes to hold a payload announces it
 *   to its links (`have`), and a link that lacks it asks one holder
 *   (`want`), then another if that one does not deliver in time or drops.
 *   Each tab thus receives each payload about once, as in the full mesh,
 *   instead of once per link.
 * - Only payloads whose hash is a commitment on record in the coordinator's
 *   state (the rounds in flight and the one before) are announced, asked
 *   for or served: a peer cannot make this tab carry bytes nobody
 *   committed. A payload whose commitment the state does not show yet (the
 *   author's push can beat the coordinator's state to this tab) is held as
 *   before and announced once the state shows it.
 * - A payload goes to a link at most once (pushed or served), and never to
 *   a link known to hold it (it announced it, or sent it here). A tab
 *   linked to a payload's author waits for the author's push before it
 *   asks a forwarder, so a payload seldom arrives twice.
 * - In the full mesh (D ≥ N − 1) nothing is announced: every author
 *   reaches every member directly, as before the partial mesh.
 * - Whatever the mesh has not brought when a duty needs it, the inbox asks
 *   of the payload store, after `storeDelayMs` when the mesh is partial.
 */
import type { PeerMesh, PeerState } from '../net/peer-mesh';
import type { PeerMessage } from '../net/peer-messages';
import type { RunState } from '../run/types';
import type { PayloadInbox } from './payload-inbox';

/** How long a `want` may go unanswered before another holder is asked. */
export const DEFAULT_WANT_TIMEOUT_MS = 3000;
/** How long the inbox leaves a missing payload to a partial mesh before asking the store. */
export const MESH_STORE_DELAY_MS = 2000;
/** Payloads held before their commitment was on record, kept to announce later: more than any round has in flight. */
const MAX_UNANNOUNCED = 1024;

export type GossipMesh = Pick<PeerMesh, 'state' | 'send' | 'sendMessage' | 'peers'>;

/** Where the payloads this tab holds came from, first arrival each: the author, a forwarder, or the payload store. */
export interface PayloadsFrom {
  peer: number;
  forwarded: number;
  store: number;
}

export interface GossipDeps {
  id: string;
  mesh(): GossipMesh | null;
  server(): RunState | null;
  inbox: Pick<PayloadInbox, 'has' | 'get' | 'receive'>;
  /** Whether this tab's links are fewer than the round's other members (a partial mesh). */
  partial(): boolean;
  wantTimeoutMs?: number;
  log?: Pick<Console, 'warn'>;
}

interface Commitment {
  step: number;
  author: string;
}

export class MeshGossip {
  readonly payloadsFrom: PayloadsFrom = { peer: 0, forwarded: 0, store: 0 };
  /** Payload bytes this tab forwarded (served to a link's `want`). */
  bytesForwarded = 0;
  /** The commitments on record: hash → its round and author. */
  private known = new Map<string, Commitment>();
  /** Per hash, the links that hold it or were sent it. */
  private readonly holders = new Map<string, Set<string>>();
  /** Per hash, the holder asked last (or the author whose push is awaited: `wanted` false), every holder asked so far, and when to ask the next. */
  private readonly asked = new Map<string, { peer: string; wanted: boolean; tried: Set<string>; timer: ReturnType<typeof setTimeout> }>();
  private readonly unannounced = new Set<string>();
  private readonly wantTimeoutMs: number;
  private readonly log: Pick<Console, 'warn'>;

  constructor(private readonly deps: GossipDeps) {
    this.wantTimeoutMs = deps.wantTimeoutMs ?? DEFAULT_WANT_TIMEOUT_MS;
    this.log = deps.log ?? console;
  }

  /** The inbox's grace before it asks the store for a missing payload. */
  storeDelayMs(): number {
    return this.deps.partial() ? MESH_STORE_DELAY_MS : 0;
  }

  state(peer: string): PeerState {
    return this.deps.mesh()?.state(peer) ?? 'closed';
  }

  /** Pushes a payload to a link unless it holds it or was sent it already; the author's first hop. */
  send(peer: string, bytes: Uint8Array, hash: string): Promise<void> {
    const mesh = this.deps.mesh();
    if (!mesh || this.holds(hash, peer)) return Promise.resolve();
    this.holdersOf(hash).add(peer);
    // The author's own commitment may reach its state after the coordinator's ack: announced once it is on record.
    if (!this.known.has(hash)) this.remember(hash);
    return mesh.send(peer, bytes, hash);
  }

  /** The coordinator's state changed: the commitments on record change with it. */
  onState(): void {
    const s = this.deps.server();
    if (!s) return;
    const rounds = [s.round, s.witnessing].filter((r) => r !== null);
    if (rounds.length === 0) return;
    const newest = Math.max(...rounds.map((r) => r.step));
    const known = new Map([...this.known].filter(([, c]) => c.step >= newest - 1));
    for (const r of rounds) r.commitments.forEach((h, slot) => h !== null && known.set(h, { step: r.step, author: r.slots[slot] }));
    this.known = known;
    for (const hash of [...this.holders.keys()]) if (!known.has(hash) && !this.unannounced.has(hash)) this.holders.delete(hash);
    for (const [hash, a] of this.asked) if (!known.has(hash)) (clearTimeout(a.timer), this.asked.delete(hash));
    for (const hash of this.unannounced) {
      if (!known.has(hash)) continue;
      this.unannounced.delete(hash);
      this.announce([hash]);
    }
  }

  /**
   * A payload that reached this tab, from a link (its id) or the payload
   * store. The inbox checks it (the mesh checked a link's against the hash
   * its sender claimed, the inbox checks the store's); a new one is counted
   * by where it came from and announced to the links.
   */
  receive(hash: string, bytes: Uint8Array, from: string | 'relay' | 'bucket'): void {
    const viaStore = from === 'relay' || from === 'bucket';
    const fresh = !this.deps.inbox.has(hash);
    this.deps.inbox.receive(hash, bytes, viaStore ? from : 'peer', this.deps.server()?.round?.step ?? 0);
    if (!viaStore) {
      this.holdersOf(hash).add(from);
      const a = this.asked.get(hash);
      if (a) (clearTimeout(a.timer), this.asked.delete(hash));
    }
    if (!fresh || !this.deps.inbox.has(hash)) return;
    const c = this.known.get(hash);
    if (viaStore) this.payloadsFrom.store++;
    else if (c && c.author !== from) this.payloadsFrom.forwarded++;
    else this.payloadsFrom.peer++;
    if (c) this.announce([hash]);
    else this.remember(hash);
  }

  onMessage(from: string, msg: PeerMessage): void {
    if (msg.type === 'have') {
      for (const hash of msg.hashes) {
        if (!this.known.has(hash)) continue;
        this.holdersOf(hash).add(from);
        if (this.deps.inbox.has(hash)) continue;
        const pending = this.asked.get(hash);
        // An author that announces its update instead of pushing it (the link opened after its push) is asked at once.
        if (pending && !pending.wanted && pending.peer === from) {
          clearTimeout(pending.timer);
          this.ask(hash, from, pending.tried);
        }
        if (pending) continue;
        // Its author is a link and pushes it (or announces it, if the link opened after the push): asking a
        // forwarder now would most likely bring a second copy. The forwarder is asked if the author's does not come.
        const author = this.known.get(hash)!.author;
        if (author !== from && this.state(author) === 'connected') this.expect(hash, author);
        else this.ask(hash, from, new Set());
      }
      return;
    }
    const bytes = this.deps.inbox.get(msg.hash);
    // Served once per link, and only what is on record: a want is no way to make this tab send anything else.
    if (!this.known.has(msg.hash) || !bytes || this.holdersOf(msg.hash).has(from)) return;
    this.holdersOf(msg.hash).add(from);
    this.bytesForwarded += bytes.length;
    this.deps
      .mesh()
      ?.send(from, bytes, msg.hash)
      .catch((e: unknown) => this.log.warn(`forwarding ${msg.hash.slice(0, 12)} to ${from.slice(0, 8)}: ${String(e)}`));
  }

  /** A link opened or ended: a new one hears what this tab holds; a lost one is asked for nothing more. */
  onPeerState(peer: string, state: PeerState): void {
    if (state === 'connected') {
      const held = [...this.known.keys()].filter((h) => this.deps.inbox.has(h));
      this.announce(held, [peer]);
      return;
    }
    if (state === 'connecting') return;
    // A later link to the same peer is a new one: it may need what the old one carried or held.
    for (const set of this.holders.values()) set.delete(peer);
    for (const [hash, a] of this.asked) if (a.peer === peer) this.retry(hash);
  }

  private holds(hash: string, peer: string): boolean {
    return this.holders.get(hash)?.has(peer) ?? false;
  }

  private holdersOf(hash: string): Set<string> {
    let set = this.holders.get(hash);
    if (!set) this.holders.set(hash, (set = new Set()));
    return set;
  }

  private remember(hash: string): void {
    if (this.unannounced.size >= MAX_UNANNOUNCED) this.unannounced.delete(this.unannounced.values().next().value as string);
    this.unannounced.add(hash);
  }

  /** Tells the links (or `to`) that do not hold them which of `hashes` this tab holds, grouped by round. */
  private announce(hashes: string[], to?: string[]): void {
    const mesh = this.deps.mesh();
    // In the full mesh every author pushes to every member it reaches: announcing would only bring second copies.
    if (!mesh || hashes.length === 0 || !this.deps.partial()) return;
    for (const peer of to ?? mesh.peers()) {
      if (mesh.state(peer) !== 'connected') continue;
      const byStep = new Map<number, string[]>();
      for (const h of hashes) {
        const { step, author } = this.known.get(h)!;
        // An author holds its own update whether or not it said so.
        if (author === peer || this.holds(h, peer)) continue;
        byStep.set(step, [...(byStep.get(step) ?? []), h]);
      }
      for (const [step, list] of byStep) this.message(peer, { type: 'have', step, hashes: list });
    }
  }

  private expect(hash: string, author: string): void {
    const timer = setTimeout(() => this.retry(hash), this.wantTimeoutMs);
    this.asked.set(hash, { peer: author, wanted: false, tried: new Set([author]), timer });
  }

  private ask(hash: string, peer: string, tried: Set<string>): void {
    tried.add(peer);
    const timer = setTimeout(() => this.retry(hash), this.wantTimeoutMs);
    this.asked.set(hash, { peer, wanted: true, tried, timer });
    this.message(peer, { type: 'want', step: this.known.get(hash)!.step, hash });
  }

  /** Asks the next connected holder not asked yet; with none left the inbox's store fallback brings it. */
  private retry(hash: string): void {
    const a = this.asked.get(hash);
    if (!a) return;
    clearTimeout(a.timer);
    this.asked.delete(hash);
    if (this.deps.inbox.has(hash) || !this.known.has(hash)) return;
    const next = [...(this.holders.get(hash) ?? [])].find((p) => !a.tried.has(p) && this.state(p) === 'connected');
    if (next) this.ask(hash, next, a.tried);
  }

  private message(peer: string, msg: PeerMessage): void {
    try {
      this.deps.mesh()?.sendMessage(peer, msg);
    } catch (e) {
      // The link closed between the check and the send: its state event follows.
      this.log.warn(`mesh message to ${peer.slice(0, 8)}: ${String(e)}`);
    }
  }
}

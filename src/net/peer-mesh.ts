/**
 * The peer mesh (docs/run.md "Peer mesh"): one simple-peer WebRTC connection
 * per remote client, payloads as checked frames (frames.ts) with
 * back-pressure, JSON control messages (peer-messages.ts) beside them.
 *
 * - Signaling is the caller's: `sendSignal(to, data)` hands our signals to
 *   the coordinator's socket, and `onSignal(from, data)` takes the remote's.
 * - The lexicographically smaller id initiates, so two sides that both call
 *   `connect` never both make an offer. The larger side answers an offer even
 *   before its own `connect` (the coordinator only relays between members).
 * - A payload is emitted only after its bytes hashed to the hash its sender
 *   claimed; anything else becomes an `error` event naming the peer, logged.
 * - No STUN/TURN: host candidates connect tabs on one machine or LAN; peers
 *   that cannot connect fail (after `connectTimeoutMs` at the latest) and the
 *   caller falls back to the coordinator's relay.
 *
 * RTCPeerConnection exists on the window only (not in workers), so the mesh
 * lives on the UI thread and hands payloads to the trainer worker.
 */

import { hexToBytes } from '@noble/hashes/utils.js';
import SimplePeer from 'simple-peer';
import {
  DEFAULT_MAX_FRAME,
  FRAME_HEADER_BYTES,
  FrameError,
  type FrameErrorCode,
  MAX_PAYLOAD_BYTES,
  MIN_CHUNK,
  Reassembler,
  encodeFrames,
} from './frames';
import { type PeerMessage, PeerMessageError, type SignalData, encodePeerMessage, parsePeerMessage, parseSignal, peerIdSchema } from './peer-messages';

export type PeerState = 'connecting' | 'connected' | 'closed' | 'failed';

export type PeerMeshErrorCode =
  | FrameErrorCode
  | 'BAD_ID'
  | 'BAD_MESSAGE'
  | 'BAD_SIGNAL'
  | 'UNEXPECTED_OFFER'
  | 'TOO_MANY_PEERS'
  | 'NOT_ADMITTED'
  | 'CONNECT_TIMEOUT'
  | 'PEER_ERROR'
  | 'NOT_CONNECTED'
  | 'CLOSED'
  | 'DESTROYED';

export class PeerMeshError extends Error {
  override readonly name = 'PeerMeshError';

  constructor(
    readonly code: PeerMeshErrorCode,
    message: string,
    /** The peer concerned, '' when none. */
    readonly remoteId: string,
    /** The payload's claimed hash, for frame errors whose header was readable. */
    readonly hash?: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface PeerMeshEvents {
  /** A complete payload whose bytes hash (SHA-256, lowercase hex) to `hash`. */
  payload: (from: string, hash: string, bytes: Uint8Array) => void;
  message: (from: string, message: PeerMessage) => void;
  state: (remoteId: string, state: PeerState) => void;
  error: (error: PeerMeshError) => void;
}

/** What the mesh uses of a simple-peer instance (a fake can stand in for tests). */
export interface MeshPeer {
  on(event: 'signal', fn: (data: unknown) => void): unknown;
  on(event: 'connect' | 'close', fn: () => void): unknown;
  on(event: 'data', fn: (data: unknown) => void): unknown;
  on(event: 'error', fn: (err: Error & { code?: string }) => void): unknown;
  signal(data: SignalData): void;
  send(data: Uint8Array | string): void;
  destroy(): void;
}

/** The parts of RTCDataChannel back-pressure needs. */
type Channel = Pick<RTCDataChannel, 'bufferedAmount' | 'bufferedAmountLowThreshold' | 'readyState' | 'addEventListener' | 'removeEventListener'>;

export interface PeerOptions {
  initiator: boolean;
  config: RTCConfiguration;
  trickle: boolean;
  objectMode: boolean;
}

export interface PeerMeshOptions {
  localId: string;
  sendSignal: (to: string, data: SignalData) => void;
  /** Largest frame sent; the channel's maxMessageSize lowers it. Default 16 KiB. */
  maxFrame?: number;
  /** Largest payload accepted from a peer. Default 64 MiB. */
  maxPayloadBytes?: number;
  /** Payloads a peer may have half-sent at once. Default 4 (this side sends one at a time). */
  maxTransfersPerPeer?: number;
  /** Stop sending while the channel buffers more than this. Default 1 MiB. */
  highWaterBytes?: number;
  /** Resume when the buffer drains to this (bufferedamountlow). Default 256 KiB. */
  lowWaterBytes?: number;
  /** A peer not connected by then fails. Default 30 s. */
  connectTimeoutMs?: number;
  /** Most peers at once. Default 64. */
  maxPeers?: number;
  /**
   * Whether to answer an offer from a peer this side has not connected to:
   * with a partial mesh (mesh-links.ts) only the peers of its own links, so a
   * member cannot make every other open a connection to it. Default: any.
   */
  admit?: (remoteId: string) => boolean;
  log?: Pick<Console, 'warn'>;
  /** Makes the connection; defaults to simple-peer. */
  createPeer?: (options: PeerOptions) => MeshPeer;
}

const HASH_RE = /^[0-9a-f]{64}$/;
/** Re-check the buffer this often even if bufferedamountlow never fires. */
const DRAIN_POLL_MS = 50;

interface Entry {
  readonly id: string;
  readonly peer: MeshPeer;
  readonly reassembler: Reassembler;
  state: PeerState;
  /** Responder only: an offer arrived, so a second one means the remote started over. */
  offered: boolean;
  nextTransferId: number;
  /** Sends to one peer run one after another, so the receiver sees one transfer at a time. */
  queue: Promise<void>;
  /** Settles when the connection opens or ends. */
  opened: Promise<void>;
  open: () => void;
  abort: (err: PeerMeshError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function defaultCreatePeer(options: PeerOptions): MeshPeer {
  return new SimplePeer(options) as unknown as MeshPeer;
}

/** simple-peer keeps its RTCPeerConnection and RTCDataChannel in private fields; back-pressure needs them. */
function internals(peer: MeshPeer): { channel: Channel | null; pc: RTCPeerConnection | null } {
  const p = peer as unknown as { _channel?: Channel | null; _pc?: RTCPeerConnection | null };
  return { channel: p._channel ?? null, pc: p._pc ?? null };
}

/**
 * Chromium reports the remote's orderly close of the data channel as an
 * error event ("User-Initiated Abort, reason=Close called"), which
 * simple-peer passes on as ERR_DATA_CHANNEL (simple-peer issues #657, #768):
 * that is a close, not a failure.
 */
function isRemoteClose(err: Error & { code?: string }): boolean {
  return err.code === 'ERR_DATA_CHANNEL' && /User-Initiated Abort/i.test(err.message);
}

/** Resolves once the channel buffers at most `high` bytes; throws if it closes first. */
async function drain(channel: Channel, high: number): Promise<void> {
  while (channel.bufferedAmount > high) {
    if (channel.readyState !== 'open') throw new Error(`data channel is ${channel.readyState}`);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        channel.removeEventListener('bufferedamountlow', done);
        channel.removeEventListener('close', done);
        resolve();
      };
      const timer = setTimeout(done, DRAIN_POLL_MS);
      channel.addEventListener('bufferedamountlow', done);
      channel.addEventListener('close', done);
    });
  }
}

export class PeerMesh {
  readonly localId: string;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: { [K in keyof PeerMeshEvents]: Set<PeerMeshEvents[K]> } = {
    payload: new Set(),
    message: new Set(),
    state: new Set(),
    error: new Set(),
  };
  private readonly sendSignal: PeerMeshOptions['sendSignal'];
  private readonly createPeer: (options: PeerOptions) => MeshPeer;
  private readonly log: Pick<Console, 'warn'>;
  private readonly maxFrame: number;
  private readonly maxPayloadBytes: number;
  private readonly maxTransfers: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly connectTimeoutMs: number;
  private readonly maxPeers: number;
  private readonly admit: (remoteId: string) => boolean;
  private destroyed = false;

  constructor(options: PeerMeshOptions) {
    const id = peerIdSchema.safeParse(options.localId);
    if (!id.success) throw new PeerMeshError('BAD_ID', `localId must be a string of 1–128 characters`, '');
    this.localId = id.data;
    this.sendSignal = options.sendSignal;
    this.createPeer = options.createPeer ?? defaultCreatePeer;
    this.log = options.log ?? console;
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    this.maxPayloadBytes = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    this.maxTransfers = options.maxTransfersPerPeer ?? 4;
    this.highWater = options.highWaterBytes ?? 1024 * 1024;
    this.lowWater = options.lowWaterBytes ?? 256 * 1024;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.maxPeers = options.maxPeers ?? 64;
    this.admit = options.admit ?? (() => true);
    if (!Number.isInteger(this.maxFrame) || this.maxFrame < FRAME_HEADER_BYTES + MIN_CHUNK) {
      throw new PeerMeshError('BAD_ARGUMENT', `maxFrame ${this.maxFrame} must be an integer ≥ ${FRAME_HEADER_BYTES + MIN_CHUNK}`, '');
    }
    if (!(this.lowWater >= 0 && this.lowWater <= this.highWater)) throw new PeerMeshError('BAD_ARGUMENT', 'need 0 ≤ lowWaterBytes ≤ highWaterBytes', '');
  }

  on<K extends keyof PeerMeshEvents>(event: K, listener: PeerMeshEvents[K]): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  /** Current state of the connection to `remoteId`; 'closed' when there is none. */
  state(remoteId: string): PeerState {
    return this.entries.get(remoteId)?.state ?? 'closed';
  }

  /** Remote ids with a connection in progress or open. */
  peers(): string[] {
    return [...this.entries.keys()];
  }

  /** The channel's RTCSctpTransport.maxMessageSize once connected, else null. */
  maxMessageSize(remoteId: string): number | null {
    const entry = this.entries.get(remoteId);
    if (!entry) return null;
    return internals(entry.peer).pc?.sctp?.maxMessageSize ?? null;
  }

  /** Starts a connection (no-op if one exists). The smaller id makes the offer; the other waits for it. */
  connect(remoteId: string): void {
    this.checkAlive();
    this.checkRemoteId(remoteId);
    if (this.entries.has(remoteId)) return;
    if (this.entries.size >= this.maxPeers) throw new PeerMeshError('TOO_MANY_PEERS', `already ${this.entries.size} peers`, remoteId);
    this.add(remoteId);
  }

  /** A signal the remote sent us through the coordinator. Invalid ones are logged and reported, never thrown. */
  onSignal(from: string, data: unknown): void {
    if (this.destroyed) return;
    if (!peerIdSchema.safeParse(from).success || from === this.localId) {
      this.report(new PeerMeshError('BAD_ID', 'signal from an invalid id', String(from).slice(0, 128)));
      return;
    }
    let signal: SignalData;
    try {
      signal = parseSignal(data);
    } catch (err) {
      this.report(new PeerMeshError('BAD_SIGNAL', (err as Error).message, from));
      return;
    }
    let entry = this.entries.get(from);
    if (signal.type === 'offer') {
      if (this.localId < from) {
        this.report(new PeerMeshError('UNEXPECTED_OFFER', 'an offer from the peer that should answer', from));
        return;
      }
      if (entry?.offered) {
        // The remote dropped its side and started over: so do we.
        this.end(entry, 'closed');
        entry = undefined;
      }
      if (!entry) {
        if (!this.admit(from)) {
          this.report(new PeerMeshError('NOT_ADMITTED', 'an offer from a peer that is not one of our links', from));
          return;
        }
        if (this.entries.size >= this.maxPeers) {
          this.report(new PeerMeshError('TOO_MANY_PEERS', `already ${this.entries.size} peers`, from));
          return;
        }
        entry = this.add(from);
      }
      entry.offered = true;
    }
    if (!entry) {
      this.log.warn(`[peer-mesh] ignored a ${signal.type} signal from ${from}: no connection to it`);
      return;
    }
    try {
      entry.peer.signal(signal);
    } catch (err) {
      this.report(new PeerMeshError('BAD_SIGNAL', (err as Error).message, from));
    }
  }

  /**
   * Sends one payload with its claimed SHA-256 `hash` (hex). Waits for the
   * connection if it is still being made, then for earlier sends to this peer,
   * and pauses whenever the channel buffers more than the high-water mark.
   * Resolves when the last frame is handed to the channel.
   */
  send(remoteId: string, payload: Uint8Array, hash: string): Promise<void> {
    try {
      this.checkAlive();
      if (!(payload instanceof Uint8Array) || payload.length < 1 || payload.length > this.maxPayloadBytes) {
        throw new PeerMeshError('BAD_ARGUMENT', `payload must be 1…${this.maxPayloadBytes} bytes`, remoteId);
      }
      if (typeof hash !== 'string' || !HASH_RE.test(hash)) throw new PeerMeshError('BAD_ARGUMENT', 'hash must be 64 lowercase hex characters', remoteId);
      const entry = this.entries.get(remoteId);
      if (!entry) throw new PeerMeshError('NOT_CONNECTED', 'no connection; call connect() first', remoteId);
      const run = entry.queue.then(() => this.transmit(entry, payload, hexToBytes(hash)));
      entry.queue = run.catch(() => undefined);
      return run;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Sends a control message now, between payload frames if a payload is under way. */
  sendMessage(remoteId: string, message: PeerMessage): void {
    this.checkAlive();
    const entry = this.entries.get(remoteId);
    if (!entry || entry.state !== 'connected') throw new PeerMeshError('NOT_CONNECTED', 'not connected', remoteId);
    entry.peer.send(encodePeerMessage(message));
  }

  close(remoteId: string): void {
    const entry = this.entries.get(remoteId);
    if (entry) this.end(entry, 'closed');
  }

  /** Closes every connection; the mesh cannot be used afterwards. */
  destroy(): void {
    for (const entry of [...this.entries.values()]) this.end(entry, 'closed');
    this.destroyed = true;
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private checkAlive(): void {
    if (this.destroyed) throw new PeerMeshError('DESTROYED', 'the mesh was destroyed', '');
  }

  private checkRemoteId(remoteId: string): void {
    if (!peerIdSchema.safeParse(remoteId).success) throw new PeerMeshError('BAD_ID', 'remote id must be a string of 1–128 characters', String(remoteId));
    if (remoteId === this.localId) throw new PeerMeshError('BAD_ID', 'cannot connect to ourselves', remoteId);
  }

  private add(remoteId: string): Entry {
    const peer = this.createPeer({ initiator: this.localId < remoteId, config: { iceServers: [] }, trickle: true, objectMode: true });
    let open!: () => void;
    let abort!: (err: PeerMeshError) => void;
    const opened = new Promise<void>((resolve, reject) => {
      open = resolve;
      abort = reject;
    });
    opened.catch(() => undefined); // a connection that never opens is reported as an event, not as a stray rejection
    const entry: Entry = {
      id: remoteId,
      peer,
      reassembler: new Reassembler({ maxTotalBytes: this.maxPayloadBytes, maxTransfers: this.maxTransfers }),
      state: 'connecting',
      offered: false,
      nextTransferId: 0,
      queue: Promise.resolve(),
      opened,
      open,
      abort,
      timer: setTimeout(() => this.fail(entry, 'CONNECT_TIMEOUT', `not connected after ${this.connectTimeoutMs} ms`), this.connectTimeoutMs),
    };
    this.entries.set(remoteId, entry);
    const current = () => this.entries.get(remoteId) === entry;
    peer.on('signal', (data) => {
      if (!current()) return;
      try {
        this.sendSignal(remoteId, data as SignalData);
      } catch (err) {
        this.log.warn(`[peer-mesh] sendSignal to ${remoteId} failed: ${(err as Error).message}`);
      }
    });
    peer.on('connect', () => current() && this.markConnected(entry));
    peer.on('data', (data) => current() && this.receive(entry, data));
    peer.on('error', (err) => {
      if (!current()) return;
      if (isRemoteClose(err)) this.end(entry, 'closed');
      else this.fail(entry, 'PEER_ERROR', `${err.code ?? 'ERR'}: ${err.message}`);
    });
    peer.on('close', () => current() && this.end(entry, 'closed'));
    this.emit('state', remoteId, 'connecting');
    return entry;
  }

  private markConnected(entry: Entry): void {
    clearTimeout(entry.timer);
    const { channel } = internals(entry.peer);
    // simple-peer sets 64 KiB for its stream API, which the mesh does not use.
    if (channel) channel.bufferedAmountLowThreshold = this.lowWater;
    entry.state = 'connected';
    entry.open();
    this.emit('state', entry.id, 'connected');
  }

  private frameSize(entry: Entry): number {
    const limit = internals(entry.peer).pc?.sctp?.maxMessageSize;
    const size = limit && Number.isFinite(limit) ? Math.min(this.maxFrame, limit) : this.maxFrame;
    return Math.max(size, FRAME_HEADER_BYTES + MIN_CHUNK);
  }

  private async transmit(entry: Entry, payload: Uint8Array, hash: Uint8Array): Promise<void> {
    await entry.opened;
    const { channel } = internals(entry.peer);
    const transferId = entry.nextTransferId;
    entry.nextTransferId = (transferId + 1) >>> 0;
    for (const frame of encodeFrames({ payload, hash, transferId, maxFrame: this.frameSize(entry) })) {
      if (channel) {
        try {
          await drain(channel, this.highWater);
        } catch (err) {
          throw new PeerMeshError('CLOSED', `send interrupted: ${(err as Error).message}`, entry.id);
        }
      }
      if (this.entries.get(entry.id) !== entry || entry.state !== 'connected') throw new PeerMeshError('CLOSED', 'connection closed during send', entry.id);
      try {
        entry.peer.send(frame);
      } catch (err) {
        // The channel closed under us (simple-peer's close event may still be queued).
        throw new PeerMeshError('CLOSED', `send failed: ${(err as Error).message}`, entry.id);
      }
    }
  }

  private receive(entry: Entry, data: unknown): void {
    if (typeof data === 'string') {
      try {
        this.emit('message', entry.id, parsePeerMessage(data));
      } catch (err) {
        if (!(err instanceof PeerMessageError)) throw err;
        this.report(new PeerMeshError('BAD_MESSAGE', err.message, entry.id));
      }
      return;
    }
    if (!(data instanceof Uint8Array)) {
      this.report(new PeerMeshError('BAD_MESSAGE', 'data is neither text nor binary', entry.id));
      return;
    }
    try {
      const done = entry.reassembler.push(data);
      if (done) this.emit('payload', entry.id, done.hash, done.bytes);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.report(new PeerMeshError(err.code, err.reason, entry.id, err.hash));
    }
  }

  private fail(entry: Entry, code: PeerMeshErrorCode, message: string): void {
    this.end(entry, 'failed', new PeerMeshError(code, message, entry.id));
  }

  private end(entry: Entry, state: 'closed' | 'failed', error?: PeerMeshError): void {
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
    clearTimeout(entry.timer);
    entry.state = state;
    entry.reassembler.clear();
    entry.abort(error ?? new PeerMeshError('CLOSED', 'connection closed', entry.id));
    entry.peer.destroy();
    if (error) this.report(error);
    this.emit('state', entry.id, state);
  }

  private report(error: PeerMeshError): void {
    this.log.warn(`[peer-mesh] ${error.remoteId || '?'}: ${error.message}`);
    this.emit('error', error);
  }

  private emit<K extends keyof PeerMeshEvents>(event: K, ...args: Parameters<PeerMeshEvents[K]>): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (...a: Parameters<PeerMeshEvents[K]>) => void)(...args);
      } catch (err) {
        // One listener's bug must not stop the mesh or the other listeners.
        this.log.warn(`[peer-mesh] ${event} listener threw: ${(err as Error).message}`);
      }
    }
  }
}

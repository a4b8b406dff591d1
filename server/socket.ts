/**
 * The coordinator's WebSocket endpoint, `/ws` on the HTTP server (docs/run.md
 * "Socket protocol"): handshake (hello → auth → welcome), then every frame
 * size-checked and schema-validated before it touches the run. A bad frame
 * gets `{type: 'error', code, message}`, a structured log line, and changes
 * nothing; a socket that keeps sending bad frames is closed.
 *
 * Close codes: 4001 replaced by a newer socket of the same key, 4002 dropped
 * by the run, 1008 too many bad frames.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { CHALLENGE_BYTES, verifyAuth } from '../src/net/auth-signature';
import {
  MAX_BINARY_HEADER_BYTES,
  MAX_TEXT_FRAME_BYTES,
  MessageError,
  encodeBinaryFrame,
  parseClientBinary,
  parseClientMessage,
  type ClientMessage,
  type MessageErrorCode,
  type ServerMessage,
} from '../src/net/messages';
import { messageFrames } from '../src/net/message-parts';
import type { Coordinator, Outbox } from './coordinator';
import { ErrorBudget } from './error-budget';
import type { Logger } from './log';
import { payloadsIn, relayPayloadStore, type BucketPayloadStore, type Payloads } from './payload-store';
import { RoundGate } from './round-gate';
import { runModel } from './run-model';
import type { Store } from './store';

export const CLOSE_REPLACED = 4001;
export const CLOSE_DROPPED = 4002;
export const CLOSE_POLICY = 1008;

export interface SocketLimits {
  textFrameBytes: number;
  binaryFrameBytes: number;
  /** Frames above this are cut off by ws itself (close 1009) without a reply; those between the caps get an `error`. */
  hardFrameBytes: number;
  /** Bad frames a socket may send at once, and how fast that allowance comes back. */
  errorBurst: number;
  errorRefillMs: number;
}

export interface SocketOptions {
  server: Server;
  coordinator: Coordinator;
  store: Store;
  log: Logger;
  limits?: Partial<SocketLimits>;
  randomBytes?: (n: number) => Uint8Array;
  /** Where payloads travel (payload-store.ts); the relay, counted on its own, unless given. */
  payloads?: Payloads;
}

class Session {
  clientId: string | null = null;
  /** Set when a newer socket took over this key: its close is not the client leaving. */
  replaced = false;
  constructor(
    readonly ws: WebSocket,
    readonly challenge: Uint8Array,
    readonly budget: ErrorBudget,
  ) {}
}

export class SocketServer implements Outbox {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly byClient = new Map<string, Session>();
  private readonly gate: RoundGate;
  private readonly limits: SocketLimits;
  private readonly runIdBytes: Uint8Array;
  private readonly payloads: Payloads;
  private closing = false;

  constructor(private readonly opts: SocketOptions) {
    this.payloads = opts.payloads ?? payloadsIn(relayPayloadStore(opts.store));
    const rm = runModel(opts.coordinator.config);
    this.runIdBytes = rm.runId;
    const binaryFrameBytes = 4 + MAX_BINARY_HEADER_BYTES + rm.updateBytes;
    this.limits = {
      textFrameBytes: MAX_TEXT_FRAME_BYTES,
      binaryFrameBytes,
      hardFrameBytes: 4 * Math.max(binaryFrameBytes, MAX_TEXT_FRAME_BYTES),
      errorBurst: 20,
      errorRefillMs: 5000,
      ...opts.limits,
    };
    this.gate = new RoundGate(opts.coordinator, opts.store, rm, this.payloads.traffic);
    this.wss = new WebSocketServer({ server: opts.server, path: '/ws', maxPayload: this.limits.hardFrameBytes });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    opts.coordinator.attach(this);
  }

  // ---- Outbox -------------------------------------------------------------

  broadcast(msg: ServerMessage): void {
    this.broadcastFrames(messageFrames(JSON.stringify(msg)));
  }

  broadcastFrames(frames: readonly string[]): void {
    for (const frame of frames) {
      // Encoded once here: ws would encode a string to UTF-8 again for every socket.
      const bytes = Buffer.from(frame);
      for (const s of this.byClient.values()) sendText(s.ws, bytes);
    }
  }

  send(clientId: string, msg: ServerMessage): void {
    const s = this.byClient.get(clientId);
    if (s) this.reply(s, msg);
  }

  disconnect(clientId: string, code: MessageErrorCode, reason: string): void {
    const s = this.byClient.get(clientId);
    if (!s) return;
    sendText(s.ws, JSON.stringify({ type: 'error', code, message: reason } satisfies ServerMessage));
    s.ws.close(CLOSE_DROPPED, code);
  }

  /** Stops accepting and closes every socket without telling the run they left (a restart is not a leave). */
  close(): Promise<void> {
    this.closing = true;
    for (const s of this.sessions) s.ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  // ---- connections ----------------------------------------------------------

  private onConnection(ws: WebSocket): void {
    const { coordinator, log } = this.opts;
    const challenge = (this.opts.randomBytes ?? nodeRandomBytes)(CHALLENGE_BYTES);
    const session = new Session(ws, Uint8Array.from(challenge), new ErrorBudget(this.limits.errorBurst, this.limits.errorRefillMs, coordinator.now));
    this.sessions.add(session);
    ws.on('message', (data, isBinary) => this.onFrame(session, toBytes(data), isBinary));
    ws.on('close', () => this.onClose(session));
    // ws reports protocol violations (oversized or malformed frames) here and then closes.
    ws.on('error', (e) => log('socket-error', { clientId: session.clientId, error: e.message }));
    sendText(ws, JSON.stringify({ type: 'hello', runId: coordinator.config.runId, challenge: bytesToHex(session.challenge) } satisfies ServerMessage));
  }

  private onClose(session: Session): void {
    this.sessions.delete(session);
    const id = session.clientId;
    if (id === null || this.byClient.get(id) !== session) return;
    this.byClient.delete(id);
    this.gate.forget(id);
    this.opts.log('client-disconnected', { clientId: id });
    const status = this.opts.coordinator.state.clients[id]?.status;
    if (!this.closing && !session.replaced && (status === 'member' || status === 'joining')) this.opts.coordinator.leave(id);
  }

  private onFrame(session: Session, bytes: Uint8Array, isBinary: boolean): void {
    try {
      if (isBinary) this.onBinary(session, bytes);
      else {
        if (bytes.length > this.limits.textFrameBytes) throw new MessageError('too-large', `text frame is ${bytes.length} bytes; the limit is ${this.limits.textFrameBytes}`);
        this.onMessage(session, parseClientMessage(new TextDecoder().decode(bytes)));
      }
    } catch (e) {
      this.refuse(session, e);
    }
  }

  private refuse(session: Session, e: unknown): void {
    if (e instanceof MessageError) this.fail(session, e.code, e.message);
    else {
      this.opts.log('socket-internal-error', { clientId: session.clientId, error: (e as Error).stack ?? String(e) });
      this.fail(session, 'internal', 'the server failed to handle this frame');
    }
  }

  /** Work that waits on the bucket: its refusals reach the client like a synchronous frame's. */
  private later(session: Session, work: Promise<void>): void {
    work.catch((e: unknown) => this.refuse(session, e));
  }

  private onBinary(session: Session, bytes: Uint8Array): void {
    const id = authenticated(session);
    const { header, payload } = parseClientBinary(bytes, this.limits.binaryFrameBytes);
    this.payloads.traffic.relayBytesIn += payload.length;
    if (this.payloads.store.kind === 'bucket') throw wrongStore('relayPut');
    this.gate.relayPut(id, header, payload);
    this.reply(session, { type: 'ack', of: 'commit', step: header.step, hash: header.hash });
  }

  /** The bucket's half of a commit: a PUT URL while the commit awaits its payload. */
  private async sendUploadUrl(session: Session, id: string, step: number, hash: string, bucket: BucketPayloadStore): Promise<void> {
    const signed = await this.gate.uploadUrl(id, { type: 'relayPut', step, hash }, bucket);
    this.reply(session, { type: 'uploadUrl', step, hash, url: signed.url, size: signed.size, expiresAt: signed.expiresAt });
  }

  private async onUploaded(session: Session, id: string, step: number, hash: string, bucket: BucketPayloadStore): Promise<void> {
    await this.gate.uploaded(id, { type: 'relayPut', step, hash }, bucket);
    this.reply(session, { type: 'ack', of: 'commit', step, hash });
  }

  private async sendPayloadUrl(session: Session, hash: string, bucket: BucketPayloadStore): Promise<void> {
    // Only payloads the server checked and keeps: the bucket is not a read-anything oracle, and the object exists.
    if (this.opts.store.payloadOrigin(hash) === null) throw new MessageError('not-found', `no payload ${hash}`);
    const signed = await bucket.downloadUrl(hash);
    this.payloads.traffic.downloadUrls += 1;
    this.reply(session, { type: 'payloadUrl', hash, url: signed.url, expiresAt: signed.expiresAt });
  }

  private onMessage(session: Session, msg: ClientMessage): void {
    if (msg.type === 'auth') return this.onAuth(session, msg);
    const id = authenticated(session);
    const { coordinator } = this.opts;
    switch (msg.type) {
      case 'join':
      case 'leave': {
        const outcome = msg.type === 'join' ? coordinator.join(id) : coordinator.leave(id);
        if (outcome.rejected !== null) throw new MessageError('rejected', outcome.rejected);
        return this.reply(session, { type: 'ack', of: msg.type });
      }
      case 'commit': {
        const result = this.gate.commit(id, msg);
        if (result === 'accepted') return this.reply(session, { type: 'ack', of: 'commit', step: msg.step, hash: msg.hash });
        const store = this.payloads.store;
        if (store.kind === 'bucket') this.later(session, this.sendUploadUrl(session, id, msg.step, msg.hash, store));
        return;
      }
      case 'witness':
        this.gate.witness(id, msg);
        return this.reply(session, { type: 'ack', of: 'witness', step: msg.step });
      case 'signal': {
        const target = this.byClient.get(msg.to);
        if (target === undefined || msg.to === id) throw new MessageError('unknown-peer', `no other connected client ${msg.to}`);
        return this.reply(target, { type: 'signal', from: id, data: msg.data });
      }
      case 'stateGet':
        return this.sendState(session);
      case 'relayGet': {
        if (this.payloads.store.kind === 'bucket') throw wrongStore('relayGet');
        const bytes = this.opts.store.getPayload(msg.hash);
        if (bytes === null) throw new MessageError('not-found', `no payload ${msg.hash}`);
        this.payloads.traffic.relayBytesOut += bytes.length;
        session.ws.send(encodeBinaryFrame({ type: 'relayData', hash: msg.hash }, bytes));
        return;
      }
      case 'uploaded':
      case 'payloadGet': {
        const store = this.payloads.store;
        if (store.kind !== 'bucket') throw new MessageError('wrong-store', `${msg.type} needs a payload bucket; this coordinator relays payloads: use relayPut and relayGet`);
        if (msg.type === 'uploaded') return this.later(session, this.onUploaded(session, id, msg.step, msg.hash, store));
        return this.later(session, this.sendPayloadUrl(session, msg.hash, store));
      }
    }
  }

  private onAuth(session: Session, msg: Extract<ClientMessage, { type: 'auth' }>): void {
    if (session.clientId !== null) throw new MessageError('already-authenticated', `this socket is already authenticated as ${session.clientId}`);
    if (!verifyAuth(this.runIdBytes, session.challenge, hexToBytes(msg.signature), hexToBytes(msg.publicKey))) {
      throw new MessageError('bad-signature', 'the signature does not verify over this run id and challenge with this public key');
    }
    const id = msg.publicKey;
    if (this.opts.coordinator.state.clients[id]?.status === 'ejected') {
      this.opts.log('ejected-key-refused', { clientId: id });
      this.reply(session, { type: 'error', code: 'ejected', message: 'this key was ejected from the run for failed checks; it cannot rejoin' });
      session.ws.close(CLOSE_DROPPED, 'ejected');
      return;
    }
    const previous = this.byClient.get(id);
    if (previous !== undefined) {
      previous.replaced = true;
      sendText(previous.ws, JSON.stringify({ type: 'error', code: 'replaced', message: 'a newer connection authenticated with this key' } satisfies ServerMessage));
      previous.ws.close(CLOSE_REPLACED, 'replaced');
    }
    session.clientId = id;
    this.byClient.set(id, session);
    this.opts.log('client-authenticated', { clientId: id, replaced: previous !== undefined });
    // Said only for a bucket: a relay's welcome stays what clients have always received.
    const store = this.payloads.store.kind === 'bucket' ? { payloadStore: 'bucket' as const } : {};
    this.reply(session, { type: 'welcome', clientId: id, config: this.opts.coordinator.config, ...store });
    this.sendState(session);
  }

  private sendState(session: Session): void {
    for (const frame of this.opts.coordinator.stateFrames()) sendText(session.ws, frame);
  }

  private reply(session: Session, msg: ServerMessage): void {
    for (const frame of messageFrames(JSON.stringify(msg))) sendText(session.ws, frame);
  }

  private fail(session: Session, code: MessageErrorCode, message: string): void {
    this.opts.log('frame-refused', { clientId: session.clientId, code, message });
    this.reply(session, { type: 'error', code, message });
    if (!session.budget.spend()) {
      this.opts.log('socket-closed-for-errors', { clientId: session.clientId });
      this.reply(session, { type: 'error', code: 'too-many-errors', message: 'too many bad frames; closing' });
      session.ws.close(CLOSE_POLICY, 'too many errors');
    }
  }
}

function wrongStore(what: string): MessageError {
  return new MessageError('wrong-store', `${what}: this coordinator keeps payloads in a bucket; commit, PUT to the uploadUrl, send uploaded, and read with payloadGet`);
}

function authenticated(session: Session): string {
  if (session.clientId === null) throw new MessageError('not-authenticated', 'authenticate first: answer hello with auth');
  return session.clientId;
}

function sendText(ws: WebSocket, text: string | Buffer): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(text, { binary: false });
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The tab's WebSocket to the coordinator: answers the challenge with this
 * tab's key, validates every frame the server sends (src/net/messages.ts),
 * keeps the run state from the server's diffs (state-receiver.ts), and
 * reconnects with backoff when the socket drops (a restarted coordinator
 * included), authenticating again each time.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { signAuth } from '../net/auth-signature';
import {
  encodeBinaryFrame,
  MessageError,
  parseServerBinary,
  type ClientMessage,
  type RelayPutHeader,
} from '../net/messages';
import { ServerFrameReader } from '../net/message-parts';
import type { KeyPair } from '../protocol/commitment';
import { StateReceiver, type RunMessage } from './state-receiver';

/** Largest binary frame accepted from the server: one update payload plus its header. */
const MAX_BINARY_BYTES = 64 * 1024 * 1024;
const RETRY_MS = [250, 500, 1000, 2000, 4000];

/** The coordinator's socket URL (ws(s)://host/ws) from its HTTP origin. */
export function socketUrl(origin: string): string {
  const u = new URL('/ws', origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

export interface SocketEvents {
  /** Authenticated (again, after a reconnect): the server's view of the run follows in `welcome`. */
  message: (msg: RunMessage) => void;
  relayData: (hash: string, payload: Uint8Array) => void;
  open: () => void;
  close: (reason: string) => void;
}

export class CoordinatorSocket {
  private ws: WebSocket | null = null;
  private closedByUs = false;
  private attempt = 0;
  private authed = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  bytesSent = 0;
  bytesReceived = 0;
  private readonly frames = new ServerFrameReader();
  private readonly states = new StateReceiver(() => this.send({ type: 'stateGet' }));

  constructor(
    private readonly url: string,
    private readonly identity: KeyPair,
    private readonly on: SocketEvents,
  ) {}

  get connected(): boolean {
    return this.authed && this.ws?.readyState === WebSocket.OPEN;
  }

  open(): void {
    this.closedByUs = false;
    this.connect();
  }

  close(): void {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, 'client left');
    this.ws = null;
  }

  send(msg: ClientMessage): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(msg);
    this.bytesSent += text.length;
    this.ws.send(text);
    return true;
  }

  sendPayload(header: RelayPutHeader, payload: Uint8Array): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const frame = encodeBinaryFrame(header, payload);
    this.bytesSent += frame.length;
    this.ws.send(frame);
    return true;
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.authed = false;
    ws.onmessage = (ev) => this.receive(ws, ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.authed = false;
      this.on.close(ev.reason || `socket closed (${ev.code})`);
      if (!this.closedByUs) this.retry();
    };
  }

  private retry(): void {
    const delay = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)];
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private receive(ws: WebSocket, data: unknown): void {
    try {
      if (data instanceof ArrayBuffer) {
        this.bytesReceived += data.byteLength;
        const { header, payload } = parseServerBinary(new Uint8Array(data), MAX_BINARY_BYTES);
        this.on.relayData(header.hash, payload);
        return;
      }
      const text = String(data);
      this.bytesReceived += text.length;
      const frame = this.frames.read(text);
      if (frame === null) return;
      if (frame.type === 'hello') {
        const signature = signAuth(hexToBytes(frame.runId), hexToBytes(frame.challenge), this.identity.secretKey);
        ws.send(JSON.stringify({ type: 'auth', publicKey: bytesToHex(this.identity.publicKey), signature: bytesToHex(signature) }));
        return;
      }
      const msg = this.states.receive(frame);
      if (msg === null) return;
      if (msg.type === 'welcome') {
        this.authed = true;
        this.attempt = 0;
        this.on.open();
      }
      this.on.message(msg);
    } catch (err) {
      // A malformed frame from the server is logged and dropped; the socket stays.
      this.states.frameRefused();
      const what = err instanceof MessageError ? `${err.code}: ${err.message}` : String(err);
      console.error(`coordinator sent a frame this client rejects: ${what}`);
    }
  }
}

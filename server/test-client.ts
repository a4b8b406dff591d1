/**
 * A scripted coordinator client over a real WebSocket with a real ed25519 key, for the server tests. It keeps the
 * state from the server's stream as a tab does (StateReceiver), so tests read `welcome` and `state` messages.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import WebSocket from 'ws';
import { signAuth } from '../src/net/auth-signature';
import { ServerFrameReader } from '../src/net/message-parts';
import { encodeBinaryFrame, parseServerBinary, type CommitStats, type ServerMessageOf } from '../src/net/messages';
import { signWitness } from '../src/net/witness-signature';
import { generateKeyPair, signCommitment, type KeyPair } from '../src/protocol/commitment';
import { StateReceiver, type RunMessage, type RunMessageOf } from '../src/run-client/state-receiver';

type Received = { kind: 'text'; msg: RunMessage } | { kind: 'binary'; hash: string; payload: Uint8Array };

export class TestClient {
  readonly keys: KeyPair;
  readonly id: string;
  private readonly inbox: Received[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;
  /** The server's hello, kept even after a test read it, so auth can still answer it. */
  private hello: ServerMessageOf<'hello'> | null = null;
  private readonly frames = new ServerFrameReader();
  readonly states = new StateReceiver(() => this.sendJson({ type: 'stateGet' }));
  /** Text frames received, and the largest in bytes. */
  textFrames = 0;
  textBytes = 0;
  largestTextFrame = 0;
  /** Diffs to lose on purpose (a tab that refused a frame), as the receiver would never see them. */
  dropDeltas = 0;

  private constructor(
    readonly ws: WebSocket,
    seed: number,
  ) {
    this.keys = generateKeyPair(new Uint8Array(32).fill(seed));
    this.id = bytesToHex(this.keys.publicKey);
    ws.on('message', (data, isBinary) => {
      const bytes = new Uint8Array(data as Buffer);
      if (isBinary) {
        const { header, payload } = parseServerBinary(bytes, 1 << 24);
        this.inbox.push({ kind: 'binary', hash: header.hash, payload });
      } else {
        this.textFrames++;
        this.textBytes += bytes.length;
        this.largestTextFrame = Math.max(this.largestTextFrame, bytes.length);
        const frame = this.frames.read(new TextDecoder().decode(bytes));
        if (frame === null) return;
        if (frame.type === 'hello') this.hello = frame;
        if (frame.type === 'stateDelta' && this.dropDeltas > 0) {
          this.dropDeltas--;
          return;
        }
        const msg = this.states.receive(frame);
        if (msg !== null) this.inbox.push({ kind: 'text', msg });
      }
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** Connects; the key is derived from `seed`, so a client can come back with the same identity. */
  static async connect(url: string, seed: number): Promise<TestClient> {
    const ws = new WebSocket(url);
    const client = new TestClient(ws, seed);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next (oldest unread) message of this type, waiting for it; earlier messages of other types stay unread. */
  async next<T extends RunMessage['type']>(type: T, where: (m: RunMessageOf<T>) => boolean = () => true, timeoutMs = 5000): Promise<RunMessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((r) => r.kind === 'text' && r.msg.type === type && where(r.msg as RunMessageOf<T>));
      if (i >= 0) return (this.inbox.splice(i, 1)[0] as unknown as { msg: RunMessageOf<T> }).msg;
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type}`);
      if (Date.now() > deadline) throw new Error(`no ${type} message within ${timeoutMs} ms; unread: ${JSON.stringify(this.texts().map((m) => m.type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now() + 1);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async nextBinary(timeoutMs = 5000): Promise<{ hash: string; payload: Uint8Array }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((r) => r.kind === 'binary');
      if (i >= 0) return this.inbox.splice(i, 1)[0] as { hash: string; payload: Uint8Array };
      if (this.closed || Date.now() > deadline) throw new Error('no binary frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now() + 1);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Unread text messages (tests assert on what did or did not arrive). */
  texts(): RunMessage[] {
    return this.inbox.flatMap((r) => (r.kind === 'text' ? [r.msg] : []));
  }

  drop(): void {
    this.inbox.length = 0;
  }

  sendJson(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** hello → auth → welcome. */
  async auth(): Promise<RunMessageOf<'welcome'>> {
    if (this.hello === null) await this.next('hello');
    this.sendAuth();
    return this.next('welcome');
  }

  /** Answers the hello already received, without waiting for the server's answer. */
  sendAuth(): void {
    const hello = this.hello;
    if (hello === null) throw new Error('no hello received yet');
    const sig = signAuth(hexToBytes(hello.runId), hexToBytes(hello.challenge), this.keys.secretKey);
    this.sendJson({ type: 'auth', publicKey: this.id, signature: bytesToHex(sig) });
  }

  /** commit (with `stats` and the trained `count` when given) + relayPut of `payload` for `step`; returns its hash. */
  commitAndUpload(runId: string, step: number, payload: Uint8Array, stats?: CommitStats, count?: number): string {
    const hash = sha256(payload);
    const sig = signCommitment(hash, this.keys.secretKey, { runId: hexToBytes(runId), step });
    this.sendJson({ type: 'commit', step, hash: bytesToHex(hash), signature: bytesToHex(sig), ...(count === undefined ? {} : { count }), ...(stats ? { stats } : {}) });
    this.ws.send(encodeBinaryFrame({ type: 'relayPut', step, hash: bytesToHex(hash) }, payload));
    return bytesToHex(hash);
  }

  witness(runId: string, step: number, held: string, checksum: string, scores: { slot: number; score: number }[] = []): void {
    const sig = signWitness({ runId: hexToBytes(runId), step, held: hexToBytes(held), checksum: hexToBytes(checksum), scores }, this.keys.secretKey);
    this.sendJson({ type: 'witness', step, held, checksum, scores, signature: bytesToHex(sig) });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

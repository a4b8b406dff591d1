/**
 * A simulated volunteer at the protocol level: one WebSocket to the real
 * coordinator, its own ed25519 key, and an honest tab's round duties
 * (src/run-client/round-duties.ts) without the GPU:
 *
 *   hello → auth (signAuth) → welcome → join
 *   round (a slot in it) → commit {step, hash, signature} + binary relayPut
 *     (with a bucket: → uploadUrl → PUT to it → uploaded, through the tab's
 *     own PayloadStoreClient)
 *   phase RoundWitness with the checks drawn (the state, kept from the
 *     server's diffs as a tab keeps it: StateReceiver) → ask the payload
 *     store for every other committed payload (relayGet, or payloadGet and a
 *     GET of the payloadUrl: a tab that cannot open WebRTC falls back to the
 *     store the same way), check each against its hash → witness {held
 *     bitmap of exactly what it holds, checksum, a passing score for each
 *     check it was drawn to verify, signature}
 *   signal → ignored; agreed → the round is over.
 *
 * It counts what it sends and receives on its socket, text and binary frames
 * apart, per round (the round it last heard start), and by message type,
 * and apart from those the payload bytes it PUTs to and GETs from a bucket.
 *
 * Simulator shortcuts, none of which changes what the coordinator sees:
 * payloads are hashed natively and dropped once checked (no apply; every sim
 * reports the same checksum); every server frame is validated against the
 * socket schemas, but a text frame equal byte for byte to one already
 * parsed (a broadcast reaches every sim) reuses that parse (MessageCache),
 * and ws's UTF-8 pass over every copy is skipped (the parse decodes it).
 */
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import WebSocket from 'ws';
import { signAuth } from '../src/net/auth-signature';
import { encodeBinaryFrame, MAX_TEXT_FRAME_BYTES, parseServerBinary, serverMessageSchema, type ClientMessage, type ServerMessage, type ServerMessageOf } from '../src/net/messages';
import { signWitness } from '../src/net/witness-signature';
import { generateKeyPair, signCommitment, type KeyPair } from '../src/protocol/commitment';
import type { RunConfig } from '../src/run/run-config';
import type { Round, RunState } from '../src/run/types';
import { heldBitmap } from '../src/run-client/round-duties';
import { ServerFrameReader } from '../src/net/message-parts';
import { StateReceiver, type RunMessage } from '../src/run-client/state-receiver';
import { PayloadStoreClient, type OwnUpdate } from '../src/run-client/payload-store-client';
import { limitedFetch } from './limited-fetch';
import { myChecks } from '../src/run-client/verifier-duty';
import type { UpdateHead } from './update-builder';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Largest binary frame a sim accepts (the real client's bound). */
const MAX_BINARY_BYTES = 64 * 1024 * 1024;

/** A browser's HTTP/1.1 connections to one host: how many bucket requests a tab has in flight. */
const BUCKET_CONNECTIONS = 6;

export interface Traffic {
  textIn: number;
  textInBytes: number;
  binIn: number;
  binInBytes: number;
  textOut: number;
  textOutBytes: number;
  binOut: number;
  binOutBytes: number;
  /** Payload objects and bytes PUT to and read from the bucket, over HTTP, not the socket. */
  storePut: number;
  storePutBytes: number;
  storeGet: number;
  storeGetBytes: number;
  /** Received, by message type (binary frames as `relayData`). */
  inByType: Record<string, { n: number; bytes: number }>;
}

export function emptyTraffic(): Traffic {
  return { textIn: 0, textInBytes: 0, binIn: 0, binInBytes: 0, textOut: 0, textOutBytes: 0, binOut: 0, binOutBytes: 0, storePut: 0, storePutBytes: 0, storeGet: 0, storeGetBytes: 0, inByType: {} };
}

export const TRAFFIC_COUNTS = ['textIn', 'textInBytes', 'binIn', 'binInBytes', 'textOut', 'textOutBytes', 'binOut', 'binOutBytes', 'storePut', 'storePutBytes', 'storeGet', 'storeGetBytes'] as const;

export function addTraffic(into: Traffic, t: Traffic): Traffic {
  for (const key of TRAFFIC_COUNTS) into[key] += t[key];
  for (const [k, v] of Object.entries(t.inByType)) {
    const o = (into.inByType[k] ??= { n: 0, bytes: 0 });
    o.n += v.n;
    o.bytes += v.bytes;
  }
  return into;
}

/**
 * Parsed server text frames, shared by the sims of one process: a frame
 * byte-equal to a cached one gets that parse (the comparison is exact, so the
 * result is what parsing again would give). Parsed messages are shared:
 * sims only read them.
 */
export class MessageCache {
  private readonly entries: { bytes: Buffer; msg: ServerMessage | Error }[] = [];
  private size = 0;
  hits = 0;
  parses = 0;
  /** Frames larger than the real client accepts (MAX_TEXT_FRAME_BYTES): a tab would drop these unread. */
  oversize = 0;
  largest = 0;

  constructor(private readonly maxBytes = 64 * 2 ** 20) {}

  get(bytes: Buffer): ServerMessage | Error {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.bytes.length === bytes.length && e.bytes.equals(bytes)) {
        this.hits++;
        return e.msg;
      }
    }
    this.parses++;
    if (bytes.length > MAX_TEXT_FRAME_BYTES) this.oversize++;
    this.largest = Math.max(this.largest, bytes.length);
    let msg: ServerMessage | Error;
    try {
      msg = parseServerText(STRICT_UTF8.decode(bytes));
    } catch {
      msg = new Error('text frame is not UTF-8');
    }
    this.entries.push({ bytes: Buffer.from(bytes), msg });
    this.size += bytes.length;
    while (this.size > this.maxBytes || this.entries.length > 256) this.size -= this.entries.shift()!.bytes.length;
    return msg;
  }
}

/** The socket schema's parse without the 64 KiB cap (counted apart, above), so a large run's state can still be read. */
export function parseServerText(text: string): ServerMessage | Error {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return new Error(`not JSON: ${(e as Error).message}`);
  }
  const r = serverMessageSchema.safeParse(json);
  return r.success ? r.data : new Error(`invalid server message: ${r.error.message.slice(0, 500)}`);
}

export interface SimWorld {
  url: string;
  cache: MessageCache;
  /** The next update for this sim, for the round's head (pre-built, re-headed). */
  update(sim: SimClient, head: UpdateHead): Uint8Array;
  /** The checksum every honest sim reports (they all "applied" the same rounds). */
  checksum: string;
  /** A verifier's score for an update it was drawn to check: an honest pass. */
  score: number;
  relayTimeoutMs: number;
  observe: SimObserver;
  /** The last round to take part in: after it the run is measured, and no later commit should move the coordinator's counters. */
  lastStep?: number;
}

export interface SimObserver {
  phase(sim: SimClient, msg: ServerMessageOf<'phase'>, at: number): void;
  agreed(sim: SimClient, msg: ServerMessageOf<'agreed'>, at: number): void;
  problem(sim: SimClient, what: string): void;
}

/** What a sim did in one round. */
export interface RoundLog {
  committedAt: number | null;
  commitAckAt: number | null;
  witnessedAt: number | null;
  witnessAckAt: number | null;
  fetched: number;
  scores: number;
  heldCount: number;
  /** Witnessed at the relay timeout without every committed payload. */
  relayTimedOut: boolean;
  /** The bitmap it sent (hex). */
  heldHex: string | null;
}

export class SimClient {
  readonly keys: KeyPair;
  readonly id: string;
  private ws: WebSocket | null = null;
  config: RunConfig | null = null;
  server: RunState | null = null;
  /** Payloads held (hash checked), by hash, with the round they belong to. The bytes are not kept. */
  readonly held = new Map<string, number>();
  /** Traffic by the round the sim last heard start (-1 before the first). */
  readonly traffic = new Map<number, Traffic>();
  readonly rounds = new Map<number, RoundLog>();
  private currentStep = -1;
  private committedStep = -1;
  private witnessStep = -1;
  private fetchStep = -1;
  private relayTimer: ReturnType<typeof setTimeout> | undefined;
  closed = false;
  errors: Record<string, number> = {};
  private readonly frames = new ServerFrameReader();
  readonly states = new StateReceiver(() => this.send({ type: 'stateGet' }));
  private readonly fetch = limitedFetch(BUCKET_CONNECTIONS, (input, init) => this.fetchNoting(input, init));
  /** Why its last bucket request failed: PayloadStoreClient only logs it. */
  private storeError = '';
  /** The tab's own client for the payload store (its kind from `welcome`), hashing downloads natively: N − 1 a round for every sim on one thread. */
  readonly payloads = new PayloadStoreClient({
    send: (msg) => this.send(msg),
    deliver: (hash, bytes) => this.fromBucket(hash, bytes),
    fetch: this.fetch,
    hash: (bytes) => createHash('sha256').update(bytes).digest('hex'),
  });
  /** Its update for the round, until the bucket has it (a relay sim sends it with the commit). */
  private own: OwnUpdate | null = null;

  constructor(
    readonly index: number,
    private readonly world: SimWorld,
    seed?: Uint8Array,
  ) {
    this.keys = generateKeyPair(seed);
    this.id = bytesToHex(this.keys.publicKey);
  }

  connect(): Promise<void> {
    // UTF-8 is checked where it matters, by the parse of each distinct frame (MessageCache); skipping ws's own pass over
    // every copy of a broadcast keeps the simulator's CPU for the coordinator's measurement.
    const ws = new WebSocket(this.world.url, { perMessageDeflate: false, maxPayload: MAX_BINARY_BYTES, skipUTF8Validation: true });
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('close', () => {
      this.closed = true;
      clearTimeout(this.relayTimer);
    });
    ws.on('error', (e) => this.world.observe.problem(this, `socket error: ${e.message}`));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  terminate(): void {
    clearTimeout(this.relayTimer);
    this.ws?.terminate();
  }

  log(step: number): RoundLog {
    let r = this.rounds.get(step);
    if (!r) this.rounds.set(step, (r = { committedAt: null, commitAckAt: null, witnessedAt: null, witnessAckAt: null, fetched: 0, scores: 0, heldCount: 0, relayTimedOut: false, heldHex: null }));
    return r;
  }

  private t(): Traffic {
    let t = this.traffic.get(this.currentStep);
    if (!t) this.traffic.set(this.currentStep, (t = emptyTraffic()));
    return t;
  }

  // ---- sending ----------------------------------------------------------------

  private send(msg: ClientMessage): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(msg);
    const t = this.t();
    t.textOut++;
    t.textOutBytes += Buffer.byteLength(text);
    this.ws.send(text);
    return true;
  }

  private sendBinary(frame: Uint8Array): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const t = this.t();
    t.binOut++;
    t.binOutBytes += frame.length;
    this.ws.send(frame);
  }

  // ---- receiving --------------------------------------------------------------

  /** One frame from the coordinator's socket (public so tests can feed frames). */
  onFrame(data: Buffer, isBinary: boolean): void {
    const at = performance.now();
    if (isBinary) return this.receiveBinary(data);
    const msg = this.world.cache.get(data);
    const t = this.t();
    t.textIn++;
    t.textInBytes += data.length;
    const type = msg instanceof Error ? 'invalid' : msg.type;
    const bt = (t.inByType[type] ??= { n: 0, bytes: 0 });
    bt.n++;
    bt.bytes += data.length;
    if (msg instanceof Error) return this.world.observe.problem(this, `coordinator sent a frame the schema rejects: ${msg.message}`);
    try {
      const whole = this.frames.message(msg);
      const seen = whole === null ? null : this.states.receive(whole);
      if (seen !== null) this.handle(seen, at);
    } catch (e) {
      this.states.frameRefused();
      this.world.observe.problem(this, `handling ${msg.type} failed: ${(e as Error).stack ?? String(e)}`);
    }
  }

  private receiveBinary(data: Buffer): void {
    const t = this.t();
    t.binIn++;
    t.binInBytes += data.length;
    const bt = (t.inByType.relayData ??= { n: 0, bytes: 0 });
    bt.n++;
    bt.bytes += data.length;
    let frame;
    try {
      frame = parseServerBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), MAX_BINARY_BYTES);
    } catch (e) {
      return this.world.observe.problem(this, `bad binary frame: ${(e as Error).message}`);
    }
    // The relay is not trusted with bytes either: only a payload that hashes to its commitment counts as held.
    const actual = createHash('sha256').update(frame.payload).digest('hex');
    if (actual !== frame.header.hash) return this.world.observe.problem(this, `relay sent a payload that does not match hash ${frame.header.hash}`);
    this.hold(actual);
  }

  /** A payload that hashed to its commitment: held for this round's witness. */
  private hold(hash: string): void {
    const step = this.server?.round?.step ?? this.currentStep;
    if (!this.held.has(hash)) this.held.set(hash, step);
    this.log(step).fetched++;
    this.maybeWitness();
  }

  private async fetchNoting(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
    try {
      const res = await globalThis.fetch(input, init);
      if (!res.ok) this.storeError = `HTTP ${res.status}`;
      return res;
    } catch (e) {
      const cause = (e as Error & { cause?: Error }).cause;
      this.storeError = `${(e as Error).message}${cause ? `: ${cause.message}` : ''}`;
      throw e;
    }
  }

  /** Its update, PUT to the URL the coordinator signed for its commit (PayloadStoreClient.upload, as a tab). */
  private async uploadToBucket(msg: ServerMessageOf<'uploadUrl'>): Promise<void> {
    const own = this.own;
    if (!(await this.payloads.upload(msg, own)) || own === null) return this.world.observe.problem(this, `upload of ${msg.hash.slice(0, 12)} to the bucket failed: ${this.storeError || 'not its update'}`);
    const t = this.t();
    t.storePut++;
    t.storePutBytes += own.bytes.length;
    this.own = null;
  }

  /** A payload read from the bucket that matched its commitment (PayloadStoreClient.download). */
  private fromBucket(hash: string, bytes: Uint8Array): void {
    const t = this.t();
    t.storeGet++;
    t.storeGetBytes += bytes.length;
    this.hold(hash);
  }

  private async receiveFromBucket(msg: ServerMessageOf<'payloadUrl'>): Promise<void> {
    this.storeError = '';
    if (await this.payloads.download(msg)) return;
    this.world.observe.problem(this, `reading ${msg.hash.slice(0, 12)} from the bucket failed: ${this.storeError || 'its bytes do not match the commitment'}`);
  }

  private handle(msg: RunMessage, at: number): void {
    switch (msg.type) {
      case 'hello': {
        const signature = signAuth(hexToBytes(msg.runId), hexToBytes(msg.challenge), this.keys.secretKey);
        this.send({ type: 'auth', publicKey: this.id, signature: bytesToHex(signature) });
        return;
      }
      case 'welcome':
        this.config = msg.config;
        this.server = msg.state;
        this.payloads.kind = msg.payloadStore ?? 'relay';
        if (!['member', 'joining'].includes(msg.state.clients[this.id]?.status ?? '')) this.send({ type: 'join' });
        return;
      case 'state':
        this.server = msg.state;
        return this.maybeWitness();
      case 'round':
        return this.train(msg.round);
      case 'uploadUrl':
        return void this.uploadToBucket(msg);
      case 'payloadUrl':
        return void this.receiveFromBucket(msg);
      case 'phase':
        if (msg.to === 'RoundTrain') {
          this.currentStep = msg.step;
          this.prune(msg.step);
        }
        this.world.observe.phase(this, msg, at);
        return this.maybeWitness();
      case 'agreed':
        this.world.observe.agreed(this, msg, at);
        return;
      case 'ack':
        if (msg.of === 'commit' && msg.step !== undefined) this.log(msg.step).commitAckAt = at;
        if (msg.of === 'witness' && msg.step !== undefined) this.log(msg.step).witnessAckAt = at;
        return;
      case 'error':
        this.errors[msg.code] = (this.errors[msg.code] ?? 0) + 1;
        return this.world.observe.problem(this, `coordinator error ${msg.code}: ${msg.message.slice(0, 300)}`);
      case 'signal': // no WebRTC here: the real tabs' fallback is the relay
      case 'points':
      case 'resync':
        return;
    }
  }

  /** Keeps this round's and the last round's payload hashes (as PayloadInbox.prune). */
  private prune(step: number): void {
    for (const [h, s] of this.held) if (s < step - 1) this.held.delete(h);
  }

  // ---- duties -----------------------------------------------------------------

  /** Its slot's update: commit (signed hash) first, then the exact bytes with relayPut, or to the bucket once it signs a URL. */
  private train(round: Round): void {
    const slot = round.slots.indexOf(this.id);
    if (slot < 0 || this.committedStep >= round.step || this.config === null || round.step > (this.world.lastStep ?? Infinity)) return;
    this.committedStep = round.step;
    const { start, count } = round.assignments[slot];
    const bytes = this.world.update(this, { step: round.step, start, count });
    const hashBytes = createHash('sha256').update(bytes).digest();
    const hash = hashBytes.toString('hex');
    this.held.set(hash, round.step);
    const signature = signCommitment(new Uint8Array(hashBytes), this.keys.secretKey, { runId: hexToBytes(this.config.runId), step: round.step });
    this.send({ type: 'commit', step: round.step, hash, signature: bytesToHex(signature) });
    if (this.payloads.kind === 'bucket') this.own = { step: round.step, hash, bytes };
    else this.sendBinary(encodeBinaryFrame({ type: 'relayPut', step: round.step, hash }, bytes));
    this.log(round.step).committedAt = performance.now();
  }

  /**
   * Once commits are closed and the checks drawn: fetch every committed
   * payload it lacks from the relay, then witness what it holds (at the
   * relay timeout, with what it has, as a tab does).
   */
  private maybeWitness(): void {
    const s = this.server;
    const round = s?.round;
    if (!s || !round || s.phase !== 'RoundWitness' || round.checks === null || this.witnessStep >= round.step) return;
    if (!round.slots.includes(this.id) || s.clients[this.id]?.status !== 'member') return;
    if (this.fetchStep < round.step) {
      this.fetchStep = round.step;
      for (const h of round.commitments) if (h !== null && !this.held.has(h)) this.payloads.ask(h);
      clearTimeout(this.relayTimer);
      const step = round.step;
      this.relayTimer = setTimeout(() => {
        if (this.witnessStep < step && this.server?.round?.step === step) this.witness(this.server.round, true);
      }, this.world.relayTimeoutMs);
    }
    if (round.commitments.every((h) => h === null || this.held.has(h))) this.witness(round, false);
  }

  private witness(round: Round, timedOut: boolean): void {
    if (this.witnessStep >= round.step || this.config === null) return;
    this.witnessStep = round.step;
    clearTimeout(this.relayTimer);
    if (timedOut) this.world.observe.problem(this, `relay timeout in round ${round.step}: witnessing with what it holds`);
    const held = heldBitmap(round.commitments, (h) => this.held.has(h));
    // Honest verifiers: a passing score for each drawn check whose payload it holds (a tab scores only those).
    const scores = myChecks(round, this.id)
      .filter((c) => this.held.has(round.commitments[c.slot] as string))
      .map((c) => ({ slot: c.slot, score: this.world.score }));
    const checksum = this.world.checksum;
    const signature = signWitness({ runId: hexToBytes(this.config.runId), step: round.step, held, checksum: hexToBytes(checksum), scores }, this.keys.secretKey);
    this.send({ type: 'witness', step: round.step, held: bytesToHex(held), checksum, scores, signature: bytesToHex(signature) });
    const log = this.log(round.step);
    log.witnessedAt = performance.now();
    log.scores = scores.length;
    log.heldCount = round.commitments.filter((h) => h !== null && this.held.has(h)).length;
    log.relayTimedOut = timedOut;
    log.heldHex = bytesToHex(held);
  }
}

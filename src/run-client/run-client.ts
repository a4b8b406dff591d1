/**
 * A tab in the run (docs/run.md): it catches up from the epoch checkpoint,
 * joins, and then, round by round, trains its assigned range, commits and
 * shares the update, witnesses what it holds, and applies the agreed set.
 * It lives on the page (the socket and the WebRTC mesh cannot live in a
 * worker) and does no heavy work itself: the GPU work is the run worker's.
 *
 * Every GPU request goes through one chain, so an apply always lands before
 * the next round's train, whatever order the network delivers things in.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ServerMessage, ServerMessageOf } from '../net/messages';
import { PeerMesh, type PeerState } from '../net/peer-mesh';
import { signWitness } from '../net/witness-signature';
import { commitment, signCheckpoint, signCommitment, type KeyPair } from '../protocol/commitment';
import type { RunConfig } from '../run/run-config';
import type { Phase, Round, RunState } from '../run/types';
import type { CatchUpSource } from './catch-up';
import { checkpointUploaders } from './checkpoint-duty';
import { CoordinatorSocket } from './coordinator-socket';
import { referenceSlots } from '../verify/references';
import { myChecks, standingOf, trustedSlots, type Standing } from './verifier-duty';
import type { RunWorkerLink } from './worker-link';
import type { MemoryPlan, RunWorkerRequest, SaveStatsView } from '../train/run-worker-protocol';
import { resumeMismatch } from './resume-check';

export type ClientStatus = 'idle' | 'connecting' | 'catching-up' | 'joining' | 'training' | 'reconnecting' | 'left' | 'error';

export interface RunView {
  status: ClientStatus;
  /** The run's phase as this tab last heard it. */
  state: Phase | null;
  epoch: number;
  step: number;
  clientId: string | null;
  /** Parameter checksum after the last round this tab applied. */
  checksum: string | null;
  appliedStep: number;
  peers: { id: string; state: PeerState }[];
  points: number;
  lossHistory: { step: number; loss: number }[];
  /** Each round this tab applied: the agreed updates' hashes and the checksum after. */
  applied: { step: number; hashes: string[]; checksum: string }[];
  timeline: { step: number; phase: Phase; at: number }[];
  tokensPerSec: number;
  /** Time the worker spent training, in all (the verification cost compares with it). */
  trainMs: number;
  bytesSent: number;
  bytesReceived: number;
  members: number;
  /** Verification standing: probation, strikes, held/vested/forfeited points, verifier duty. */
  standing: Standing | null;
  /** Updates this tab scored as a verifier, and the time it spent on them. */
  /**
   * Verification so far: checks scored, their time in all, the recomputation's part of it, and the longest one round's
   * took (it delays this tab's witness report, so it bounds what verification adds to a round).
   */
  verified: { checks: number; ms: number; recomputeMs: number; maxRoundMs: number };
  /** This tab's memory plan for the run's model (src/train/memory-plan.ts), once made. */
  memory: MemoryPlan | null;
  /**
   * How this tab got its parameters last (its resume record after a reload, or a checkpoint download), at which
   * step, and what saving its resume record has cost so far.
   */
  resume: { from: 'record' | 'checkpoint' | null; step: number; momentumStep: number; ms: number; saved: SaveStatsView | null };
  error: string | null;
}

export interface RunClientOptions {
  /** ws(s)://host/ws */
  socketUrl: string;
  identity: KeyPair;
  worker: RunWorkerLink;
  catchUp: CatchUpSource;
  /** How long to wait for a payload from the relay before witnessing without it. */
  relayTimeoutMs?: number;
  /** The GPU memory this tab may use, in bytes (DEFAULT_GPU_MEMORY unless the volunteer set it). */
  gpuMemory?: number;
}

/** The GPU memory a tab may use unless its volunteer says otherwise: what a laptop GPU can spare. */
export const DEFAULT_GPU_MEMORY = 2 * 2 ** 30;

/** What the worker builds a replica from, whether out of a checkpoint or the resume record. */
type ReplicaFields = Omit<Extract<RunWorkerRequest, { type: 'resume' }>, 'type' | 'id'>;

const TIMELINE_MAX = 200;
const LOSS_MAX = 5000;
const APPLIED_MAX = 1000;

export class RunClient {
  private readonly socket: CoordinatorSocket;
  private readonly id: string;
  private mesh: PeerMesh | null = null;
  private config: RunConfig | null = null;
  private server: RunState | null = null;
  private wantJoin = false;
  private gpuMemory: number;
  private loaded = false;
  /** A reload's first catch-up tries the resume record; a resync never does (the record may be what went wrong). */
  private mayResume = true;
  private appliedStep = -1;
  private checksum: string | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** Payloads by hash: this round's and the last one's. */
  private payloads = new Map<string, { step: number; bytes: Uint8Array }>();
  private waiting = new Map<string, ((b: Uint8Array) => void)[]>();
  /** This tab's latest update, kept to send again if the socket dropped before the coordinator had it. */
  private lastUpdate: { step: number; hash: string; signature: string; bytes: Uint8Array } | null = null;
  private witnessedStep = -1;
  private meshBytesSent = 0;
  private meshBytesReceived = 0;
  private tokens = 0;
  private trainMs = 0;
  private offeredStep = -1;
  private view: RunView;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: RunClientOptions) {
    this.id = bytesToHex(opts.identity.publicKey);
    this.gpuMemory = opts.gpuMemory ?? DEFAULT_GPU_MEMORY;
    this.view = emptyView(this.id);
    this.socket = new CoordinatorSocket(opts.socketUrl, opts.identity, {
      open: () => this.update({ status: this.wantJoin ? 'catching-up' : 'connecting', error: null }),
      close: (reason) => this.update({ status: this.wantJoin ? 'reconnecting' : 'left', error: this.wantJoin ? reason : null }),
      message: (msg) => this.receive(msg),
      relayData: (hash, payload) => this.gotPayload(hash, payload, 'relay'),
    });
  }

  /** The GPU memory this tab may use from its next load on (the plan is made then). */
  setGpuMemory(bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 1) throw new RangeError(`GPU memory must be a positive number of bytes, got ${bytes}`);
    this.gpuMemory = Math.floor(bytes);
  }

  /** Connects, catches up and asks to train from the next round. */
  join(): void {
    if (this.wantJoin) return;
    this.wantJoin = true;
    this.update({ status: 'connecting', error: null });
    this.socket.open();
  }

  leave(): void {
    if (!this.wantJoin) return;
    this.wantJoin = false;
    this.socket.send({ type: 'leave' });
    this.socket.close();
    this.mesh?.destroy();
    this.mesh = null;
    this.update({ status: 'left', peers: [] });
  }

  setDuty(duty: number): void {
    this.opts.worker.setDuty(duty);
  }

  state(): RunView {
    return this.view;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ------------------------------------------------------------------ view

  private update(patch: Partial<RunView>): void {
    const s = this.server;
    const peers = this.mesh ? this.mesh.peers().map((id) => ({ id, state: this.mesh!.state(id) })) : [];
    this.view = {
      ...this.view,
      state: s?.phase ?? null,
      epoch: s?.epoch ?? 0,
      step: s?.step ?? 0,
      points: s?.clients[this.id]?.points ?? this.view.points,
      members: s ? Object.values(s.clients).filter((c) => c.status === 'member').length : 0,
      standing: standingOf(this.config, s, this.id),
      checksum: this.checksum,
      appliedStep: this.appliedStep,
      peers,
      bytesSent: this.socket.bytesSent + this.meshBytesSent,
      bytesReceived: this.socket.bytesReceived + this.meshBytesReceived,
      tokensPerSec: this.trainMs > 0 ? this.tokens / (this.trainMs / 1000) : 0,
      trainMs: this.trainMs,
      ...patch,
    };
    for (const fn of this.listeners) fn();
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`run client: ${message}`);
    this.update({ status: 'error', error: message });
  }

  /** Runs GPU work strictly in order; a failure is reported and the chain goes on. */
  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err: unknown) => this.fail(err));
  }

  // ------------------------------------------------------------------ messages

  private receive(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        return this.welcome(msg);
      case 'state':
        this.server = msg.state;
        this.update({});
        return this.maybeWitness();
      case 'round':
        return this.round(msg.round);
      case 'phase':
        this.view.timeline = [...this.view.timeline, { step: msg.step, phase: msg.to, at: Date.now() }].slice(-TIMELINE_MAX);
        this.update({});
        // An epoch ended at msg.step: after the chain has applied its last round, this tab may owe the checkpoint.
        if (msg.to === 'Cooldown') this.enqueue(() => this.uploadCheckpoint(msg.step));
        return this.maybeWitness();
      case 'agreed':
        return this.enqueue(() => this.applyAgreed(msg));
      case 'resync':
        console.warn(`run client: checksum ${this.checksum} disagrees with the majority ${msg.checksum} at step ${msg.step}; resyncing`);
        this.loaded = false;
        return this.enqueue(() => this.catchUp());
      case 'points':
        if (msg.clientId === this.id) this.update({ points: msg.total });
        return;
      case 'signal':
        this.mesh?.onSignal(msg.from, msg.data);
        return;
      case 'error':
        console.warn(`coordinator: ${msg.code}: ${msg.message}`);
        if (msg.code === 'dropped' && this.wantJoin) this.enqueue(() => this.sendJoin());
        if (msg.code === 'ejected') {
          // Final: the coordinator refuses this key from now on.
          this.wantJoin = false;
          this.socket.close();
          this.update({ status: 'error', error: `ejected from the run: ${msg.message}` });
        }
        return;
      case 'ack':
        if (msg.of === 'commit') this.offerToPeers(msg.step);
        return;
      case 'hello':
        return;
    }
  }

  private welcome(msg: ServerMessageOf<'welcome'>): void {
    this.config = msg.config;
    this.server = msg.state;
    if (!this.mesh) this.mesh = this.createMesh();
    this.update({ clientId: msg.clientId });
    this.enqueue(async () => {
      if (!this.loaded) await this.catchUp();
      else await this.replayTo(msg.state.step);
      await this.sendJoin();
      this.sendUpdate();
      this.maybeWitness();
    });
  }

  private createMesh(): PeerMesh {
    const mesh = new PeerMesh({ localId: this.id, sendSignal: (to, data) => this.socket.send({ type: 'signal', to, data: data as never }) });
    mesh.on('payload', (_from, hash, bytes) => {
      this.meshBytesReceived += bytes.length;
      this.gotPayload(hash, bytes, 'peer');
    });
    mesh.on('state', () => this.update({}));
    mesh.on('error', (e) => console.warn(`peer mesh: ${e.message}`));
    return mesh;
  }

  private async sendJoin(): Promise<void> {
    const me = this.server?.clients[this.id];
    if (!this.wantJoin || me?.status === 'member' || me?.status === 'joining') {
      this.update({ status: me?.status === 'member' ? 'training' : 'joining' });
      return;
    }
    this.socket.send({ type: 'join' });
    this.update({ status: 'joining' });
  }

  /**
   * The epoch checkpoint of `step` (server/checkpoint-uploads.ts), when this
   * tab is one of its uploaders and holds exactly those parameters. A failed
   * upload is logged, not fatal: the other uploader, or the previous
   * checkpoint and the stored updates, still serve joiners.
   */
  private async uploadCheckpoint(step: number): Promise<void> {
    const config = this.need();
    if (!this.loaded || this.appliedStep !== step || this.server === null || !checkpointUploaders(config, this.server).includes(this.id)) return;
    try {
      const { bytes } = await this.opts.worker.request<'export'>({ type: 'export' });
      const signature = signCheckpoint(bytes, this.opts.identity.secretKey, { runId: hexToBytes(config.runId), step });
      const answer = await this.opts.catchUp.putCheckpoint(step, this.id, bytes, signature);
      console.info(`run client: offered the checkpoint of step ${step} (${bytes.length} bytes): ${answer}`);
    } catch (err) {
      console.warn(`run client: could not upload the checkpoint of step ${step}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ------------------------------------------------------------------ catch-up

  private async catchUp(): Promise<void> {
    const config = this.need();
    const { chunk, topk, decay, gradClip, quantize1bit } = config.optimizer;
    this.update({ status: 'catching-up' });
    // Before the download: a tab that cannot hold the model says so with the sizes.
    const { plan } = await this.opts.worker.request<'plan'>({
      type: 'plan',
      model: config.model,
      seqLen: config.seqLen,
      optimizer: { chunk, topk, decay, gradClip, quantize1bit },
      maxSequences: Math.max(config.globalBatch.start, config.globalBatch.end),
      budget: this.gpuMemory,
    });
    this.update({ memory: plan });
    if (!plan.fits) {
      this.wantJoin = false;
      throw new Error(plan.reason ?? 'this tab cannot train this model');
    }
    const replica: ReplicaFields = {
      model: config.model,
      dataset: config.dataset,
      seqLen: config.seqLen,
      optimizer: { chunk, topk, decay, gradClip, quantize1bit },
      runId: config.runId,
      microBatch: plan.microBatch,
    };
    const resumed = this.mayResume && (await this.resume(replica));
    this.mayResume = false;
    if (!resumed) {
      const t0 = Date.now();
      const ck = await this.opts.catchUp.latestCheckpoint();
      const loaded = await this.opts.worker.request<'load'>({ type: 'load', ...replica, checkpoint: ck.bytes, step: ck.step }, [ck.bytes.buffer as ArrayBuffer]);
      if (loaded.checksum !== ck.checksum) throw new Error(`checkpoint of step ${ck.step} loads to checksum ${loaded.checksum}, the coordinator says ${ck.checksum}`);
      this.loaded = true;
      this.appliedStep = ck.step;
      this.checksum = loaded.checksum;
      this.update({ resume: { ...this.view.resume, from: 'checkpoint', step: ck.step, momentumStep: -1, ms: Date.now() - t0 } });
    }
    await this.replayTo(this.server?.step ?? this.appliedStep);
  }

  /**
   * Loads the tab's resume record instead of the checkpoint when the
   * coordinator's agreed history confirms it (resume-check.ts). False, and
   * logged, when there is none or it does not follow the agreed rounds.
   */
  private async resume(replica: ReplicaFields): Promise<boolean> {
    const t0 = Date.now();
    const r = await this.opts.worker.request<'resume'>({ type: 'resume', ...replica });
    if (r.resumed === null) {
      if (r.reason !== null) console.warn(`run client: not resuming from this tab's stored state: ${r.reason}`);
      return false;
    }
    const { rounds } = await this.opts.catchUp.agreedSince(r.resumed.step - 1);
    const problem = resumeMismatch(r.resumed, rounds[0]);
    if (problem !== null) {
      console.warn(`run client: not resuming from this tab's stored state of step ${r.resumed.step}: ${problem}`);
      return false;
    }
    this.loaded = true;
    this.appliedStep = r.resumed.step;
    this.checksum = r.resumed.checksum;
    console.info(`run client: resumed at step ${r.resumed.step} from this tab's stored state (momentum of round ${r.resumed.momentumStep}) in ${Date.now() - t0} ms`);
    this.update({ resume: { ...this.view.resume, from: 'record', step: r.resumed.step, momentumStep: r.resumed.momentumStep, ms: Date.now() - t0 } });
    return true;
  }

  /** Applies the stored agreed rounds until this tab has seen every round before `step`. */
  private async replayTo(step: number): Promise<void> {
    while (this.appliedStep < step) {
      const { toStep, rounds } = await this.opts.catchUp.agreedSince(this.appliedStep);
      for (const r of rounds) await this.apply(r.step, r.hashes, r.payloads, r.lrBits);
      if (rounds.length === 0 || toStep <= this.appliedStep) break; // the server has nothing newer yet
    }
    this.update({});
  }

  private async apply(step: number, hashes: string[], updates: Uint8Array[], lrBits: number): Promise<void> {
    if (step !== this.appliedStep) throw new Error(`applying step ${step}, but this tab is at step ${this.appliedStep}`);
    const weightDecay = this.need().optimizer.weightDecay;
    const r = await this.opts.worker.request<'apply'>({ type: 'apply', step, updates, hashes, lrBits, weightDecay });
    this.appliedStep = step + 1;
    this.checksum = r.checksum;
    this.view.resume = { ...this.view.resume, saved: r.saved };
    if (this.view.status === 'error') this.view = { ...this.view, status: 'training', error: null };
    this.view.applied = [...this.view.applied, { step, hashes, checksum: r.checksum }].slice(-APPLIED_MAX);
  }

  // ------------------------------------------------------------------ rounds

  private round(round: Round): void {
    this.payloads = new Map([...this.payloads].filter(([, p]) => p.step >= round.step - 1));
    const slot = round.slots.indexOf(this.id);
    for (const peer of round.slots) if (peer !== this.id && this.mesh && this.mesh.state(peer) !== 'connected') this.mesh.connect(peer);
    this.update({ status: slot >= 0 ? 'training' : this.view.status });
    if (slot < 0) return;
    this.enqueue(() => this.train(round, slot));
  }

  private async train(round: Round, slot: number): Promise<void> {
    const config = this.need();
    if (this.appliedStep !== round.step) {
      // Behind (a missed agreed set): catch up now, sit this round out.
      console.warn(`run client: round ${round.step} starts while this tab has applied ${this.appliedStep} rounds; catching up instead of training`);
      await this.replayTo(round.step);
      return;
    }
    const { start, count } = round.assignments[slot];
    const t = await this.opts.worker.request<'train'>({ type: 'train', step: round.step, start, count, lrBits: round.lrBits });
    this.tokens += t.tokens;
    this.trainMs += t.ms;
    const hash = commitment(t.update);
    const hashHex = bytesToHex(hash);
    this.payloads.set(hashHex, { step: round.step, bytes: t.update });
    const signature = signCommitment(hash, this.opts.identity.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    this.lastUpdate = { step: round.step, hash: hashHex, signature: bytesToHex(signature), bytes: t.update };
    this.sendUpdate();
    this.view.lossHistory = [...this.view.lossHistory, { step: round.step, loss: t.loss }].slice(-LOSS_MAX);
    this.update({});
  }

  /**
   * Offers this round's update to the round's peers once the coordinator has
   * acknowledged the commit: bytes that left before their commitment was on
   * record could be committed first by a copier.
   */
  private offerToPeers(step: number | undefined): void {
    const u = this.lastUpdate;
    const round = this.server?.round;
    if (!u || !round || u.step !== step || round.step !== step || this.offeredStep >= step || !this.mesh) return;
    this.offeredStep = step;
    for (const peer of round.slots) {
      if (peer === this.id || this.mesh.state(peer) !== 'connected') continue;
      this.meshBytesSent += u.bytes.length;
      this.mesh.send(peer, u.bytes, u.hash).catch((e: unknown) => console.warn(`sending to ${peer.slice(0, 8)}: ${String(e)}`));
    }
  }

  /** Commit and upload the latest update, unless the coordinator's round already has it. */
  private sendUpdate(): void {
    const u = this.lastUpdate;
    const round = this.server?.round;
    if (!u || !round || round.step !== u.step || this.server?.phase !== 'RoundTrain') return;
    const slot = round.slots.indexOf(this.id);
    if (slot < 0 || round.commitments[slot] !== null) return;
    // The commit first: the coordinator takes a payload only for a commitment it has verified.
    this.socket.send({ type: 'commit', step: u.step, hash: u.hash, signature: u.signature });
    this.socket.sendPayload({ type: 'relayPut', step: u.step, hash: u.hash }, u.bytes);
  }

  private maybeWitness(): void {
    const s = this.server;
    const round = s?.round;
    // The checks are drawn just after commits close; witness once they are known.
    if (!s || !round || s.phase !== 'RoundWitness' || round.checks === null || this.witnessedStep >= round.step) return;
    if (!round.slots.includes(this.id)) return;
    this.witnessedStep = round.step;
    this.enqueue(() => this.witness(round));
  }

  private async witness(round: Round): Promise<void> {
    const config = this.need();
    const wanted = round.commitments.filter((h): h is string => h !== null);
    await Promise.all(wanted.map((h) => this.payloadFor(h).catch(() => null)));
    const held = new Uint8Array(Math.ceil(round.slots.length / 8));
    round.commitments.forEach((h, i) => {
      if (h !== null && this.payloads.has(h)) held[i >> 3] |= 1 << (i & 7);
    });
    if (this.checksum === null || this.appliedStep !== round.step) return; // not in step: witnessing would be wrong
    const scores = await this.verifyChecks(round);
    const checksum = hexToBytes(this.checksum);
    const signature = signWitness({ runId: hexToBytes(config.runId), step: round.step, held, checksum, scores }, this.opts.identity.secretKey);
    const sent = this.socket.send({ type: 'witness', step: round.step, held: bytesToHex(held), checksum: this.checksum, scores, signature: bytesToHex(signature) });
    if (!sent) this.witnessedStep = round.step - 1; // the socket is down: witness again once it is back
  }

  /** Scores the updates this tab was drawn to verify against its own and the round's other trusted updates. */
  private async verifyChecks(round: Round): Promise<{ slot: number; score: number }[]> {
    const own = this.lastUpdate;
    const state = this.server;
    if (!own || own.step !== round.step || !state) return []; // drawn only when it committed; a reload since loses its update
    const held = (slot: number) => this.payloads.get(round.commitments[slot] as string)?.bytes;
    const checks = myChecks(round, this.id).flatMap((c) => {
      const bytes = held(c.slot);
      return bytes ? [{ slot: c.slot, update: bytes, unit: c.units[c.verifiers.indexOf(this.id)] }] : [];
    });
    if (checks.length === 0) return [];
    const config = this.need();
    const me = round.slots.indexOf(this.id);
    const max = config.verification.references;
    // One more than each candidate uses: the worker leaves out the candidate's own slot.
    const order = referenceSlots(me, trustedSlots(config, state, round).filter((slot) => held(slot)), -1, max + 1, round.slots.length);
    const references = order.map((slot) => ({ slot, update: slot === me ? own.bytes : (held(slot) as Uint8Array) }));
    const r = await this.opts.worker.request<'verify'>({
      type: 'verify',
      step: round.step,
      checks,
      references,
      maxReferences: max,
      maxProofErrorPermille: config.verification.maxProofErrorPermille,
    });
    for (const p of r.proofs) console.info(`verify: step ${round.step} slot ${p.slot} unit ${p.unit}: proof error ${p.errorPermille}‰`);
    const v = this.view.verified;
    this.view.verified = { checks: v.checks + r.scores.length, ms: v.ms + r.ms, recomputeMs: v.recomputeMs + r.recomputeMs, maxRoundMs: Math.max(v.maxRoundMs, r.ms) };
    return r.scores;
  }

  private async applyAgreed(msg: ServerMessageOf<'agreed'>): Promise<void> {
    if (!this.loaded || msg.step < this.appliedStep) return;
    if (msg.step > this.appliedStep) await this.replayTo(msg.step);
    if (msg.step !== this.appliedStep) return;
    const updates = await Promise.all(msg.hashes.map((h) => this.payloadFor(h)));
    await this.apply(msg.step, msg.hashes, updates, msg.lrBits);
    this.update({});
  }

  // ------------------------------------------------------------------ payloads

  private gotPayload(hash: string, bytes: Uint8Array, from: 'peer' | 'relay'): void {
    // The mesh verified peer payloads; the relay's are checked here (the coordinator is not trusted with bytes either).
    if (from === 'relay' && bytesToHex(commitment(bytes)) !== hash) {
      console.error(`relay sent a payload that does not match hash ${hash}`);
      return;
    }
    const step = this.server?.round?.step ?? 0;
    if (!this.payloads.has(hash)) this.payloads.set(hash, { step, bytes });
    for (const resolve of this.waiting.get(hash) ?? []) resolve(bytes);
    this.waiting.delete(hash);
  }

  /** The payload for `hash`: held already, or asked of the relay. */
  private payloadFor(hash: string): Promise<Uint8Array> {
    const held = this.payloads.get(hash);
    if (held) return Promise.resolve(held.bytes);
    const timeoutMs = this.opts.relayTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`payload ${hash.slice(0, 12)} did not arrive within ${timeoutMs} ms`)), timeoutMs);
      const list = this.waiting.get(hash) ?? [];
      list.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
      this.waiting.set(hash, list);
      this.socket.send({ type: 'relayGet', hash });
    });
  }

  private need(): RunConfig {
    if (!this.config) throw new Error('not connected to a coordinator yet');
    return this.config;
  }
}

function emptyView(clientId: string): RunView {
  return {
    status: 'idle',
    state: null,
    epoch: 0,
    step: 0,
    clientId,
    checksum: null,
    appliedStep: 0,
    peers: [],
    points: 0,
    lossHistory: [],
    applied: [],
    timeline: [],
    tokensPerSec: 0,
    trainMs: 0,
    bytesSent: 0,
    bytesReceived: 0,
    members: 0,
    standing: null,
    verified: { checks: 0, ms: 0, recomputeMs: 0, maxRoundMs: 0 },
    memory: null,
    resume: { from: null, step: 0, momentumStep: -1, ms: 0, saved: null },
    error: null,
  };
}

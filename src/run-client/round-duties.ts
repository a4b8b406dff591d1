/**
 * What a member tab owes each round (docs/run.md): train its assigned range,
 * commit and upload the update, offer it to the round's peers once the
 * coordinator has the commit, witness what it holds (with its verifier
 * scores), apply the agreed set, and at an epoch's end maybe upload the
 * checkpoint. GPU work reaches this class through the tab's one chain.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { commitStats, type ClientMessage, type CommitStats, type ServerMessageOf } from '../net/messages';
import type { PeerMesh } from '../net/peer-mesh';
import { signWitness } from '../net/witness-signature';
import { commitment, signCheckpoint, signCommitment, type KeyPair } from '../protocol/commitment';
import type { RunConfig } from '../run/run-config';
import { witnessRound } from '../run/state-machine';
import type { Round, RunState } from '../run/types';
import { referenceSlots } from '../verify/references';
import type { CatchUpSource } from './catch-up';
import { checkpointUploaders } from './checkpoint-duty';
import type { CoordinatorSocket } from './coordinator-socket';
import type { PayloadInbox } from './payload-inbox';
import type { ReplicaSync } from './replica-sync';
import { LOSS_MAX, appendBounded, type RunViewStore } from './run-view';
import { myChecks, trustedSlots } from './verifier-duty';
import type { RunWorkerLink } from './worker-link';

export interface RoundDeps {
  id: string;
  identity: KeyPair;
  worker: Pick<RunWorkerLink, 'request'>;
  source: Pick<CatchUpSource, 'putCheckpoint'>;
  socket: Pick<CoordinatorSocket, 'send' | 'sendPayload'>;
  mesh(): Pick<PeerMesh, 'state' | 'send'> | null;
  inbox: PayloadInbox;
  replica: ReplicaSync;
  view: RunViewStore;
  /** The run's config; throws before the coordinator sent it. */
  config(): RunConfig;
  server(): RunState | null;
  /** Runs GPU work on the tab's one chain. */
  enqueue(work: () => Promise<void>): void;
  /** True when the coordinator keeps payloads in a bucket: the bytes go up when it answers the commit (payload-store-client.ts). */
  viaBucket?(): boolean;
}

/** This tab's held payloads as the witness bitmap over the round's slots (LSB-first). */
export function heldBitmap(commitments: readonly (string | null)[], has: (hash: string) => boolean): Uint8Array {
  const held = new Uint8Array(Math.ceil(commitments.length / 8));
  commitments.forEach((h, i) => {
    if (h !== null && has(h)) held[i >> 3] |= 1 << (i & 7);
  });
  return held;
}

export class RoundDuties {
  /** This tab's latest update, kept to send again if the socket dropped before the coordinator had it, with the stats its commit reports. */
  lastUpdate: { step: number; hash: string; signature: string; bytes: Uint8Array; count: number; stats?: CommitStats } | null = null;
  /** The step whose update this tab last sent the coordinator. */
  private sentStep = -1;
  private witnessedStep = -1;
  private offeredStep = -1;
  /** A witness report the socket could not take (it was down): sent again once it is back. */
  private unsentWitness: { step: number; msg: Extract<ClientMessage, { type: 'witness' }> } | null = null;
  /** Resolved on every state from the coordinator, and on stop: what a duty waiting for the run waits on. */
  private stateWaiters: (() => void)[] = [];
  private stopped = false;
  tokens = 0;
  trainMs = 0;
  /** Bytes offered to peers over the mesh. */
  meshBytesSent = 0;

  constructor(private readonly deps: RoundDeps) {}

  /** The coordinator's state changed: duties waiting for it look again. */
  onState(): void {
    const waiters = this.stateWaiters;
    this.stateWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The tab left or resyncs: nothing waits for the run any more. */
  stop(): void {
    this.stopped = true;
    this.onState();
  }

  /** Undoes stop when the tab joins again. */
  start(): void {
    this.stopped = false;
  }

  private nextState(): Promise<void> {
    return new Promise((resolve) => this.stateWaiters.push(resolve));
  }

  /** `until`: with a time box (trainTimeBox), when it ends (Date.now() clock); the worker trains the range up to then. */
  async train(round: Round, slot: number, until?: number): Promise<void> {
    const { replica, view } = this.deps;
    const config = this.deps.config();
    if (replica.appliedStep !== round.base) {
      // Behind (a missed agreed set): catch up now, sit this round out.
      console.warn(`run client: round ${round.step} trains from step ${round.base} while this tab has applied ${replica.appliedStep} rounds; catching up instead of training`);
      await replica.replayTo(round.base);
      return;
    }
    await this.witnessBeforeTrain(round);
    const { start, count } = round.assignments[slot];
    const t = await this.deps.worker.request<'train'>({ type: 'train', step: round.step, start, count, lrBits: round.lrBits, ...(until === undefined ? {} : { until }) });
    this.tokens += t.tokens;
    this.trainMs += t.ms;
    const hash = commitment(t.update);
    const hashHex = bytesToHex(hash);
    this.deps.inbox.keep(hashHex, round.step, t.update);
    const signature = signCommitment(hash, this.deps.identity.secretKey, { runId: hexToBytes(config.runId), step: round.step });
    // For the run's dashboard: this round's loss and GPU time, and the apply of the round before (done just before this training).
    const applied = replica.lastApply?.step === round.step - 1 ? replica.lastApply.ms : undefined;
    const stats = commitStats(t.loss, t.ms, applied);
    this.lastUpdate = { step: round.step, hash: hashHex, signature: bytesToHex(signature), bytes: t.update, count: t.count, stats };
    this.sendUpdate();
    view.current.lossHistory = appendBounded(view.current.lossHistory, { step: round.step, loss: t.loss }, LOSS_MAX);
    view.update({});
  }

  /**
   * Commit and upload the latest update, unless the coordinator's round
   * already has it. Called after training, on every state (the state that
   * opens the round may come after the training ends: an update waiting for
   * it would otherwise never be committed, and the round would wait out its
   * train time), and after a reconnect (`again`: the coordinator may have
   * lost what was sent before). Sent once per step otherwise.
   */
  sendUpdate(again = false): void {
    const u = this.lastUpdate;
    const server = this.deps.server();
    const round = server?.round;
    if (!u || !round || round.step !== u.step || server?.phase !== 'RoundTrain') return;
    if (!again && this.sentStep === u.step) return;
    const slot = round.slots.indexOf(this.deps.id);
    if (slot < 0 || round.commitments[slot] !== null) return;
    // The commit first: the coordinator takes a payload only for a commitment it has verified.
    const sent = this.deps.socket.send({ type: 'commit', step: u.step, hash: u.hash, signature: u.signature, count: u.count, ...(u.stats ? { stats: u.stats } : {}) });
    if (!this.deps.viaBucket?.()) this.deps.socket.sendPayload({ type: 'relayPut', step: u.step, hash: u.hash }, u.bytes);
    if (sent) this.sentStep = u.step;
  }

  /**
   * Offers this round's update to the round's peers once the coordinator has
   * acknowledged the commit: bytes that left before their commitment was on
   * record could be committed first by a copier.
   */
  offerToPeers(step: number | undefined): void {
    const u = this.lastUpdate;
    const round = this.deps.server()?.round;
    const mesh = this.deps.mesh();
    if (!u || !round || u.step !== step || round.step !== step || this.offeredStep >= step || !mesh) return;
    this.offeredStep = step;
    for (const peer of round.slots) {
      if (peer === this.deps.id || mesh.state(peer) !== 'connected') continue;
      this.meshBytesSent += u.bytes.length;
      mesh.send(peer, u.bytes, u.hash).catch((e: unknown) => console.warn(`sending to ${peer.slice(0, 8)}: ${String(e)}`));
    }
  }

  /** Queues the witness of the round being witnessed once its checks are drawn, once per round. */
  maybeWitness(): void {
    const s = this.deps.server();
    const round = s ? witnessRound(s) : null;
    // Back after a reconnect with a report the socket did not take: send it now.
    const unsent = this.unsentWitness;
    if (unsent !== null && round?.step === unsent.step && this.deps.socket.send(unsent.msg)) this.unsentWitness = null;
    // The checks are drawn just after commits close; witness once they are known.
    if (!round || round.checks === null || this.witnessedStep >= round.step) return;
    if (!round.slots.includes(this.deps.id)) return;
    this.deps.enqueue(() => this.witness(round));
  }

  /**
   * Pipelined rounds: the round that trained from the parameters before
   * step `applying`'s apply must be verified before that apply changes them.
   * When this tab is one of its members and has not witnessed it yet, it
   * waits (on the GPU chain: nothing else could run before this apply) for
   * that round's checks to be drawn, then verifies and witnesses it.
   */
  witnessBeforeApply(applying: number): Promise<void> {
    return this.witnessOwed((r) => r.step === applying + 1 && r.base === applying);
  }

  /**
   * Pipelined, a round that trains from the same parameters as the round
   * before it (the first round after a start, a resume or an epoch): that
   * round is verified first, at those parameters, while its draw is moments
   * away, so its witness report is not held back by a whole training.
   */
  private witnessBeforeTrain(round: Round): Promise<void> {
    return this.witnessOwed((r) => r.step === round.step - 1 && r.base === round.base);
  }

  /** Waits for the drawn checks of the round `isOwed` names, when this tab is its member and has not witnessed it, and witnesses it. */
  private async witnessOwed(isOwed: (r: Round) => boolean): Promise<void> {
    for (;;) {
      const s = this.deps.server();
      if (this.stopped || !s) return;
      const owed = [s.witnessing, s.round].find((r): r is Round => r !== null && isOwed(r));
      if (!owed || !owed.slots.includes(this.deps.id) || s.clients[this.deps.id]?.status !== 'member' || this.witnessedStep >= owed.step) return;
      const now = witnessRound(s);
      if (now?.step === owed.step && now.checks !== null) return this.witness(now);
      await this.nextState();
    }
  }

  /**
   * The witness's GPU part on the chain, at the parameters the round trained
   * from: verify the drawn checks and take the checksum. Waiting for the
   * round's other payloads (the held bitmap) and sending happen off the
   * chain, so the next round's training does not wait for slow peers.
   */
  private async witness(round: Round): Promise<void> {
    const { replica } = this.deps;
    if (this.witnessedStep >= round.step) return;
    this.witnessedStep = round.step;
    if (replica.checksum === null || replica.appliedStep !== round.base) return; // not at its parameters: witnessing would be wrong
    const checksum = replica.checksum;
    // Every payload of the round is asked for at once; the checks' wait and the report's share one relay timeout.
    const wanted = round.commitments.filter((h): h is string => h !== null);
    const arrived = Promise.all(wanted.map((h) => this.deps.inbox.want(h).catch(() => null)));
    const scores = await this.verifyChecks(round);
    void arrived.then(() => this.sendWitness(round, checksum, scores));
  }

  private sendWitness(round: Round, checksum: string, scores: { slot: number; score: number }[]): void {
    const { inbox } = this.deps;
    const config = this.deps.config();
    const held = heldBitmap(round.commitments, (h) => inbox.has(h));
    const signature = signWitness({ runId: hexToBytes(config.runId), step: round.step, held, checksum: hexToBytes(checksum), scores }, this.deps.identity.secretKey);
    const msg = { type: 'witness' as const, step: round.step, held: bytesToHex(held), checksum, scores, signature: bytesToHex(signature) };
    if (!this.deps.socket.send(msg)) this.unsentWitness = { step: round.step, msg };
  }

  /** Scores the updates this tab was drawn to verify against its own and the round's other trusted updates. */
  private async verifyChecks(round: Round): Promise<{ slot: number; score: number }[]> {
    const own = this.lastUpdate;
    const state = this.deps.server();
    const me = this.deps.id;
    if (!own || own.step !== round.step || !state) return []; // drawn only when it committed; a reload since loses its update
    if (myChecks(round, me).length === 0) return [];
    // The checked updates and the candidates for references; whatever has not come by the relay's timeout is left out.
    const needed = trustedSlots(this.deps.config(), state, round).concat(myChecks(round, me).map((c) => c.slot));
    await Promise.all(needed.map((slot) => round.commitments[slot]).filter((h): h is string => h !== null).map((h) => this.deps.inbox.want(h).catch(() => null)));
    const held = (slot: number) => this.deps.inbox.get(round.commitments[slot] as string);
    const checks = myChecks(round, me).flatMap((c) => {
      const bytes = held(c.slot);
      return bytes ? [{ slot: c.slot, update: bytes, unit: c.units[c.verifiers.indexOf(me)] }] : [];
    });
    if (checks.length === 0) return [];
    const config = this.deps.config();
    const mine = round.slots.indexOf(me);
    const max = config.verification.references;
    // One more than each candidate uses: the worker leaves out the candidate's own slot.
    const order = referenceSlots(mine, trustedSlots(config, state, round).filter((slot) => held(slot)), -1, max + 1, round.slots.length);
    const references = order.map((slot) => ({ slot, update: slot === mine ? own.bytes : (held(slot) as Uint8Array) }));
    const r = await this.deps.worker.request<'verify'>({
      type: 'verify',
      step: round.step,
      checks,
      references,
      maxReferences: max,
      maxProofErrorPermille: config.verification.maxProofErrorPermille,
    });
    for (const p of r.proofs) console.info(`verify: step ${round.step} slot ${p.slot} unit ${p.unit}: proof error ${p.errorPermille}‰`);
    const view = this.deps.view;
    const v = view.current.verified;
    view.current.verified = { checks: v.checks + r.scores.length, ms: v.ms + r.ms, recomputeMs: v.recomputeMs + r.recomputeMs, maxRoundMs: Math.max(v.maxRoundMs, r.ms) };
    return r.scores;
  }

  async applyAgreed(msg: ServerMessageOf<'agreed'>): Promise<void> {
    const { replica } = this.deps;
    if (!replica.loaded || msg.step < replica.appliedStep) return;
    if (msg.step > replica.appliedStep) await replica.replayTo(msg.step);
    if (msg.step !== replica.appliedStep) return;
    await this.witnessBeforeApply(msg.step);
    if (msg.step !== replica.appliedStep) return;
    const updates = await Promise.all(msg.hashes.map((h) => this.deps.inbox.want(h))).catch((e: unknown) => {
      console.warn(`run client: ${e instanceof Error ? e.message : String(e)}; reading round ${msg.step} from the coordinator's agreed updates`);
      return null;
    });
    // No peer, relay or bucket brought one of them (a bucket object that fails its hash): catch-up reads the agreed round.
    if (updates === null) return replica.replayTo(msg.step + 1);
    await replica.apply(msg.step, msg.hashes, updates, msg.lrBits);
    this.deps.view.update({});
  }

  /**
   * The epoch checkpoint of `step` (server/checkpoint-uploads.ts), when this
   * tab is one of its uploaders and holds exactly those parameters. A failed
   * upload is logged, not fatal: the other uploader, or the previous
   * checkpoint and the stored updates, still serve joiners.
   */
  async uploadCheckpoint(step: number): Promise<void> {
    const { replica } = this.deps;
    const config = this.deps.config();
    const server = this.deps.server();
    if (!replica.loaded || replica.appliedStep !== step || server === null || !checkpointUploaders(config, server).includes(this.deps.id)) return;
    try {
      const { bytes } = await this.deps.worker.request<'export'>({ type: 'export' });
      const signature = signCheckpoint(bytes, this.deps.identity.secretKey, { runId: hexToBytes(config.runId), step });
      const answer = await this.deps.source.putCheckpoint(step, this.deps.id, bytes, signature);
      console.info(`run client: offered the checkpoint of step ${step} (${bytes.length} bytes): ${answer}`);
    } catch (err) {
      console.warn(`run client: could not upload the checkpoint of step ${step}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

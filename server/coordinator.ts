/**
 * The coordinator's loop (docs/run.md): it owns the run's config and state,
 * feeds every event (client messages from socket.ts, ticks from a timer) into
 * the pure state machine, stores the result, and only then carries out the
 * effects: messages to clients, disconnecting dropped ones, checkpoints.
 * Storing first means a crash can lose an effect's message (clients recover
 * from the whole state on reconnect) but never a state or a ledger row.
 * Clients learn the state as a diff per step (state-stream.ts).
 */
import type { CommitStats, MessageErrorCode, ServerMessage } from '../src/net/messages';
import { createRunState, step, witnessRound } from '../src/run/state-machine';
import type { RunConfig } from '../src/run/run-config';
import type { Effect, RunEvent, RunState, Score } from '../src/run/types';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { CheckpointUploads } from './checkpoint-uploads';
import { initialCheckpoint } from './checkpointer';
import { runModel } from './run-model';
import type { Logger } from './log';
import { roundFacts } from './history';
import { StateStream } from './state-stream';
import type { StepExtras, Store } from './store';

/** Where the coordinator's messages go; socket.ts implements it. */
export interface Outbox {
  broadcast(msg: ServerMessage): void;
  /** Text frames already serialized, the same for every client. */
  broadcastFrames(frames: readonly string[]): void;
  send(clientId: string, msg: ServerMessage): void;
  disconnect(clientId: string, code: MessageErrorCode, reason: string): void;
}

export class CoordinatorError extends Error {
  override name = 'CoordinatorError';
}

export interface CoordinatorOptions {
  store: Store;
  /** The run's config when creating a run; with an existing database it must equal the stored one (or be left out). */
  config?: RunConfig;
  now: () => number;
  log: Logger;
}

/** Why the machine refused an event, or null when it was applied. */
export type Outcome = { rejected: null } | { rejected: string };

const NO_OUTBOX: Outbox = { broadcast() {}, broadcastFrames() {}, send() {}, disconnect() {} };

/** Told of every stored step, after its effects were carried out (server/events.ts feeds the dashboard from it). */
export type StepWatcher = (state: RunState, effects: readonly Effect[]) => void;

export class Coordinator {
  private stateJson: string;
  private outbox: Outbox = NO_OUTBOX;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly watchers = new Set<StepWatcher>();
  private readonly stream = new StateStream();

  private constructor(
    readonly config: RunConfig,
    private current: RunState,
    private readonly store: Store,
    readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.stateJson = JSON.stringify(current);
    this.secret = hexToBytes(store.verifySecret());
    const rm = runModel(config);
    this.checkpointBytesLimit = rm.layout.parameterCount * 4 + 2 ** 20;
    this.checkpoints = new CheckpointUploads(config, rm, store, () => this.current, log, now);
  }

  /** Keys the salt of each round's checks: clients learn a salt only once that round's commits are closed. */
  private readonly secret: Uint8Array;
  /** Epoch checkpoints uploaded by members, settled when their round's checksum is agreed. */
  readonly checkpoints: CheckpointUploads;

  /** The most bytes a checkpoint of this run's model can have: its floats and 1 MiB for the safetensors header. */
  readonly checkpointBytesLimit: number;

  /** Creates the run in an empty database, or resumes the stored one (feeding `recovered`). */
  static open({ store, config, now, log }: CoordinatorOptions): Coordinator {
    const stored = store.loadConfig();
    let coordinator: Coordinator;
    if (stored === null) {
      if (config === undefined) throw new CoordinatorError('the database holds no run and no config was given to create one');
      const t = now();
      const state = createRunState(config, t);
      const epoch0 = initialCheckpoint(config);
      store.createRun(config, state, { epoch: 0, step: 0, ...epoch0 }, t);
      log('run-created', { runId: config.runId, model: config.model, checksum: epoch0.checksum });
      coordinator = new Coordinator(config, state, store, now, log);
    } else {
      if (config !== undefined && JSON.stringify(config) !== JSON.stringify(stored)) {
        throw new CoordinatorError(`the database holds run ${stored.runId} with a different config; start with that config (or none) or use a new database`);
      }
      const state = store.loadSnapshot();
      if (state === null) throw new CoordinatorError('the database holds a run config but no state snapshot');
      coordinator = new Coordinator(stored, state, store, now, log);
      log('run-resumed', { runId: stored.runId, phase: state.phase, epoch: state.epoch, step: state.step });
      coordinator.feed({ type: 'recovered', now: now() });
      coordinator.drawIfDue(); // the server may have stopped between closing commits and drawing
    }
    return coordinator;
  }

  get state(): RunState {
    return this.current;
  }

  /** The version of the state in the stream clients follow (what `state` is at now). */
  get stateVersion(): number {
    return this.stream.version;
  }

  /** The whole state as frames, for a client that just authenticated or asked (stateGet); diffs from this version follow. */
  stateFrames(): string[] {
    return this.stream.fullFrames(this.stateJson);
  }

  attach(outbox: Outbox): void {
    this.outbox = outbox;
  }

  /** Calls `watcher` after every stored step; returns the function that stops it. */
  watch(watcher: StepWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Ticks every `intervalMs` (timeouts fire from ticks). */
  start(intervalMs = 250): void {
    if (this.timer === null) this.timer = setInterval(() => this.tick(), intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  tick(): Outcome {
    return this.feed({ type: 'tick', now: this.now() });
  }

  join(clientId: string): Outcome {
    return this.feed({ type: 'join', clientId, now: this.now() });
  }

  leave(clientId: string): Outcome {
    return this.feed({ type: 'leave', clientId, now: this.now() });
  }

  /**
   * The signature was verified and the overlap measured by the caller (round-gate.ts); the signature is stored beside the hash,
   * and the client's reported stats (display only: the machine never sees them) beside it.
   */
  commit(clientId: string, stepNo: number, hash: string, signature: string, overlap: { permille: number; with: string } | null = null, stats?: CommitStats, count?: number): Outcome {
    const slot = this.current.round?.slots.indexOf(clientId) ?? -1;
    return this.feed({ type: 'commit', clientId, step: stepNo, hash, ...(count === undefined ? {} : { count }), overlap, now: this.now() }, { step: stepNo, slot, clientId, hash, signature, stats });
  }

  witness(clientId: string, stepNo: number, held: string, checksum: string, scores: Score[] = []): Outcome {
    return this.feed({ type: 'witness', clientId, step: stepNo, held, checksum, scores, now: this.now() });
  }

  pause(): Outcome {
    return this.feed({ type: 'pause', now: this.now() });
  }

  resume(): Outcome {
    return this.feed({ type: 'resume', now: this.now() });
  }

  private feed(event: RunEvent, commitment?: StepExtras['commitment']): Outcome {
    const { state, effects } = step(this.config, this.current, event);
    const rejected = effects.find((e) => e.type === 'rejected');
    if (rejected) {
      this.log('event-rejected', { input: event.type, clientId: rejected.clientId, reason: rejected.reason });
      return { rejected: rejected.reason };
    }
    const json = JSON.stringify(state);
    if (json === this.stateJson && effects.length === 0) return { rejected: null };
    try {
      const rounds = effects.some((e) => e.type === 'agreed') ? roundFacts(this.config, this.current, effects, event.now) : undefined;
      this.store.applyStep(state, effects, { now: event.now, commitment: event.type === 'commit' ? commitment : undefined, rounds });
    } catch (e) {
      // The old state stays: memory never runs ahead of the database.
      this.log('persist-failed', { input: event.type, error: (e as Error).message });
      return { rejected: `the server could not store this step: ${(e as Error).message}` };
    }
    const previous = this.current;
    this.current = state;
    this.stateJson = json;
    for (const effect of effects) this.carryOut(effect);
    this.outbox.broadcastFrames(this.stream.advance(previous, state));
    for (const watcher of this.watchers) {
      try {
        watcher(state, effects);
      } catch (e) {
        this.log('watcher-failed', { error: (e as Error).stack ?? String(e) });
      }
    }
    if (event.type !== 'draw') this.drawIfDue();
    return { rejected: null };
  }

  /** Once commits close, reveal the round's salt so the machine draws its checks. */
  private drawIfDue(): void {
    const round = witnessRound(this.current);
    if (round === null || round.checks !== null) return;
    const msg = new Uint8Array(4);
    new DataView(msg.buffer).setUint32(0, round.step, true);
    const salt = bytesToHex(hmac(sha256, this.secret, msg));
    const outcome = this.feed({ type: 'draw', step: round.step, salt, now: this.now() });
    if (outcome.rejected !== null) this.log('draw-failed', { step: round.step, reason: outcome.rejected });
  }

  private carryOut(effect: Effect): void {
    const s = this.current;
    switch (effect.type) {
      case 'phase':
        this.log('phase', { from: effect.from, to: effect.to, step: effect.step, epoch: effect.epoch });
        this.outbox.broadcast({ type: 'phase', from: effect.from, to: effect.to, step: effect.step, epoch: effect.epoch });
        return;
      case 'roundStarted':
        this.log('round-started', { step: effect.round.step, slots: effect.round.slots.length, counts: effect.round.assignments.map((a) => a.count) });
        this.outbox.broadcast({ type: 'round', epoch: s.epoch, round: effect.round });
        return;
      case 'agreed':
        this.log('agreed', { step: effect.step, slots: effect.slots, excluded: effect.excluded, checksum: effect.checksum });
        this.outbox.broadcast({ ...effect }); // the effect has exactly the message's fields
        // The checksum is of the parameters the round trained from: a checkpoint of step `base` holds those.
        this.checkpoints.onAgreed(effect.base, effect.checksum);
        return;
      case 'points':
        this.outbox.broadcast({ type: 'points', clientId: effect.clientId, step: effect.step, amount: effect.amount, total: s.clients[effect.clientId]?.points ?? 0 });
        return;
      case 'resync':
        this.log('resync', { clientId: effect.clientId, step: effect.step, checksum: effect.checksum });
        this.outbox.send(effect.clientId, { type: 'resync', step: effect.step, checksum: effect.checksum });
        return;
      case 'dropped':
        this.log('dropped', { clientId: effect.clientId, step: effect.step, reason: effect.reason });
        this.outbox.disconnect(effect.clientId, 'dropped', effect.reason);
        return;
      case 'epochEnd':
        // Its checkpoint comes from the members (checkpoint-uploads.ts), checked against round effect.step's checksum.
        this.log('epoch-end', { epoch: effect.epoch, step: effect.step });
        return;
      case 'finished':
        this.log('finished', { step: effect.step });
        return;
      case 'verdict':
        this.log('verdict', { step: effect.step, slot: effect.slot, clientId: effect.clientId, median: effect.median, pass: effect.pass, scores: effect.scores });
        return;
      case 'strike':
        this.log('strike', { clientId: effect.clientId, step: effect.step, strikes: effect.strikes, reason: effect.reason });
        return;
      case 'forfeited':
        this.log('forfeited', { clientId: effect.clientId, step: effect.step, amount: effect.amount });
        return;
      case 'ejected':
        this.log('ejected', { clientId: effect.clientId, step: effect.step, reason: effect.reason });
        this.outbox.disconnect(effect.clientId, 'ejected', effect.reason);
        return;
      case 'rejected':
        return; // handled in feed
    }
  }
}

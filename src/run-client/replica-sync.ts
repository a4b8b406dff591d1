/**
 * This tab's copy of the run's parameters, in the worker: how it gets them
 * (its resume record after a reload, else the epoch checkpoint), how it
 * replays the agreed rounds it missed, and which step and checksum it is at.
 * Rounds are applied strictly one after the other: an apply for any other
 * step than the next is an error, never a silent skip.
 */
import type { RunConfig } from '../run/run-config';
import type { RunState } from '../run/types';
import type { RunWorkerRequest } from '../train/run-worker-protocol';
import type { CatchUpSource } from './catch-up';
import { resumeMismatch } from './resume-check';
import { APPLIED_MAX, appendBounded, type RunViewStore } from './run-view';
import type { RunWorkerLink } from './worker-link';

/** What the worker builds a replica from, whether out of a checkpoint or the resume record. */
type ReplicaFields = Omit<Extract<RunWorkerRequest, { type: 'resume' }>, 'type' | 'id'>;

/** The memory plan says this tab cannot train the run's model; joining is pointless until its budget changes. */
export class ModelDoesNotFit extends Error {
  override name = 'ModelDoesNotFit';
}

export interface ReplicaDeps {
  worker: Pick<RunWorkerLink, 'request'>;
  source: CatchUpSource;
  view: RunViewStore;
  /** The run's config; throws before the coordinator sent it. */
  config(): RunConfig;
  server(): RunState | null;
}

export class ReplicaSync {
  /** The worker holds parameters that follow the agreed rounds (false again after a resync). */
  loaded = false;
  /** The first round this tab's parameters have not seen. */
  appliedStep = -1;
  /** Parameter checksum at appliedStep. */
  checksum: string | null = null;
  /** The latest apply: its step and the worker's time for it (reported with the next commit, for the run's dashboard). */
  lastApply: { step: number; ms: number } | null = null;
  /** A reload's first catch-up tries the resume record; a resync never does (the record may be what went wrong). */
  private mayResume = true;

  constructor(private readonly deps: ReplicaDeps) {}

  /** The coordinator says this tab's parameters are wrong: the next catch-up starts over. */
  forget(): void {
    this.loaded = false;
  }

  /** Plans memory within `budget` bytes, loads the resume record or the checkpoint, and replays up to the coordinator's step. */
  async catchUp(budget: number): Promise<void> {
    const { worker, source, view } = this.deps;
    const config = this.deps.config();
    const { chunk, topk, decay, gradClip, quantize1bit } = config.optimizer;
    view.update({ status: 'catching-up' });
    // Before the download: a tab that cannot hold the model says so with the sizes.
    const { plan } = await worker.request<'plan'>({
      type: 'plan',
      model: config.model,
      seqLen: config.seqLen,
      optimizer: { chunk, topk, decay, gradClip, quantize1bit },
      maxSequences: Math.max(config.globalBatch.start, config.globalBatch.end),
      budget,
    });
    view.update({ memory: plan });
    if (!plan.fits) throw new ModelDoesNotFit(plan.reason ?? 'this tab cannot train this model');
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
      const ck = await source.latestCheckpoint();
      const loaded = await worker.request<'load'>({ type: 'load', ...replica, checkpoint: ck.bytes, step: ck.step }, [ck.bytes.buffer as ArrayBuffer]);
      if (loaded.checksum !== ck.checksum) throw new Error(`checkpoint of step ${ck.step} loads to checksum ${loaded.checksum}, the coordinator says ${ck.checksum}`);
      this.loaded = true;
      this.appliedStep = ck.step;
      this.checksum = loaded.checksum;
      view.update({ resume: { ...view.current.resume, from: 'checkpoint', step: ck.step, momentumStep: -1, ms: Date.now() - t0 } });
    }
    await this.replayTo(this.deps.server()?.step ?? this.appliedStep);
  }

  /**
   * Loads the tab's resume record instead of the checkpoint when the
   * coordinator's agreed history confirms it (resume-check.ts). False, and
   * logged, when there is none or it does not follow the agreed rounds.
   */
  private async resume(replica: ReplicaFields): Promise<boolean> {
    const t0 = Date.now();
    const r = await this.deps.worker.request<'resume'>({ type: 'resume', ...replica });
    if (r.resumed === null) {
      if (r.reason !== null) console.warn(`run client: not resuming from this tab's stored state: ${r.reason}`);
      return false;
    }
    const { rounds } = await this.deps.source.agreedSince(r.resumed.step - 1);
    const problem = resumeMismatch(r.resumed, rounds[0]);
    if (problem !== null) {
      console.warn(`run client: not resuming from this tab's stored state of step ${r.resumed.step}: ${problem}`);
      return false;
    }
    this.loaded = true;
    this.appliedStep = r.resumed.step;
    this.checksum = r.resumed.checksum;
    console.info(`run client: resumed at step ${r.resumed.step} from this tab's stored state (momentum of round ${r.resumed.momentumStep}) in ${Date.now() - t0} ms`);
    const view = this.deps.view;
    view.update({ resume: { ...view.current.resume, from: 'record', step: r.resumed.step, momentumStep: r.resumed.momentumStep, ms: Date.now() - t0 } });
    return true;
  }

  /** Applies the stored agreed rounds until this tab has seen every round before `step`. */
  async replayTo(step: number): Promise<void> {
    while (this.appliedStep < step) {
      const from = this.appliedStep;
      const { toStep, rounds } = await this.deps.source.agreedSince(from);
      for (const r of rounds) await this.apply(r.step, r.hashes, r.payloads, r.lrBits);
      // The server has nothing newer yet; a full page (at most 256 rounds) asks for the next one.
      if (rounds.length === 0 || toStep <= from) break;
    }
    this.deps.view.update({});
  }

  /** Applies round `step`'s agreed updates; the caller tells the view (an update follows). */
  async apply(step: number, hashes: string[], updates: Uint8Array[], lrBits: number): Promise<void> {
    if (step !== this.appliedStep) throw new Error(`applying step ${step}, but this tab is at step ${this.appliedStep}`);
    const weightDecay = this.deps.config().optimizer.weightDecay;
    const r = await this.deps.worker.request<'apply'>({ type: 'apply', step, updates, hashes, lrBits, weightDecay });
    this.appliedStep = step + 1;
    this.checksum = r.checksum;
    this.lastApply = { step, ms: r.ms };
    const view = this.deps.view;
    view.current.resume = { ...view.current.resume, saved: r.saved };
    if (view.current.status === 'error') view.current = { ...view.current, status: 'training', error: null };
    view.current.applied = appendBounded(view.current.applied, { step, hashes, checksum: r.checksum }, APPLIED_MAX);
  }
}

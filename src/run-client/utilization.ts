/**
 * How much of the wall time this tab's GPU works for the run (docs/design.md
 * §11): the worker's own time for each training, verification and apply,
 * over a recent window of wall time. The first trainings are warm-up (the
 * kernels compile, the pipeline fills) and are left out, so the figure says
 * what a steady run does.
 */
import type { RunWorkerLink } from './worker-link';

/** The wall time the share is measured over. */
export const UTILIZATION_WINDOW_MS = 30_000;
/** Trainings left out as warm-up. */
export const WARMUP_TRAININGS = 2;

export interface UtilizationView {
  /** Worker time within the window. */
  busyMs: number;
  /** The window's length: UTILIZATION_WINDOW_MS, or less since the warm-up ended. */
  wallMs: number;
  /** busyMs / wallMs, or null before the warm-up ended. */
  share: number | null;
}

type Work = 'train' | 'verify' | 'apply';

export class Utilization {
  /** Busy spans in wall time, oldest first, none older than the window. */
  private spans: { start: number; end: number }[] = [];
  private trainings = 0;
  private from: number | null = null;

  constructor(
    private readonly windowMs = UTILIZATION_WINDOW_MS,
    private readonly warmup = WARMUP_TRAININGS,
  ) {}

  /** One piece of GPU work that ended at `end` after `ms` of the worker's time. */
  add(kind: Work, ms: number, end: number): void {
    const start = end - Math.max(0, ms);
    if (kind === 'train' && ++this.trainings === this.warmup + 1) this.from = start;
    if (this.from === null) return;
    this.spans.push({ start: Math.max(start, this.from), end });
    const oldest = end - this.windowMs;
    while (this.spans.length > 0 && this.spans[0].end <= oldest) this.spans.shift();
  }

  measure(now: number): UtilizationView {
    if (this.from === null) return { busyMs: 0, wallMs: 0, share: null };
    const begin = Math.max(this.from, now - this.windowMs);
    const wallMs = now - begin;
    // Spans do not overlap: the worker does one thing at a time.
    const busyMs = this.spans.reduce((sum, s) => sum + Math.max(0, Math.min(s.end, now) - Math.max(s.start, begin)), 0);
    return { busyMs, wallMs, share: wallMs > 0 ? Math.min(1, busyMs / wallMs) : null };
  }
}

/** The worker link with every training, verification and apply reported to `onWork` when it answers. */
export function meteredWorker(worker: Pick<RunWorkerLink, 'request'>, onWork: (kind: Work, ms: number) => void): Pick<RunWorkerLink, 'request'> {
  const request = (async (msg: Parameters<RunWorkerLink['request']>[0], transfer?: Transferable[]) => {
    const answer = await worker.request(msg, transfer);
    if (answer.type === 'trained') onWork('train', answer.ms);
    else if (answer.type === 'verified') onWork('verify', answer.ms);
    else if (answer.type === 'applied') onWork('apply', answer.ms);
    return answer;
  }) as RunWorkerLink['request'];
  return { request };
}

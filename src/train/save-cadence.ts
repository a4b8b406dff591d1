/**
 * When the run worker saves its resume record (resume-store.ts). A save
 * reads two model-sized buffers back from the GPU and writes them to
 * IndexedDB before the next request runs: for tinyDemo that is a
 * millisecond and every round is saved, for a 100 M model hundreds of
 * milliseconds. So the cost is bounded as a share of wall time: after a save
 * that cost c ms, the next waits until 1/share − 1 times c has passed, and
 * never starts while one is still being written. A reload then resumes from
 * the last save and replays the few rounds after it from the coordinator.
 */

/** Saving may take at most this share of the worker's wall time. */
export const SAVE_SHARE = 0.05;

export interface SaveStats {
  saves: number;
  /** Applies after which no save was made (one was still being written, or the last cost too much to repeat yet). */
  skipped: number;
  /** The step of the last record written (−1: none yet). */
  savedStep: number;
  /** The last save's GPU readback and IndexedDB write, in ms. */
  readMs: number;
  putMs: number;
}

export class SaveCadence {
  private inFlight = false;
  private lastEnd = -Infinity;
  private lastCost = 0;
  readonly stats: SaveStats = { saves: 0, skipped: 0, savedStep: -1, readMs: 0, putMs: 0 };

  constructor(private readonly share = SAVE_SHARE) {
    if (!(share > 0 && share <= 1)) throw new RangeError(`SaveCadence: share must be in (0, 1], got ${share}`);
  }

  /** Whether a save may start at `now` (ms); counts a skip when not. */
  due(now: number): boolean {
    const ok = !this.inFlight && now - this.lastEnd >= this.lastCost * (1 / this.share - 1);
    if (!ok) this.stats.skipped++;
    return ok;
  }

  started(): void {
    this.inFlight = true;
  }

  /** A save of `step` ended at `now`; `readMs` + `putMs` is what it cost. */
  finished(now: number, step: number, readMs: number, putMs: number): void {
    this.inFlight = false;
    this.lastEnd = now;
    this.lastCost = readMs + putMs;
    Object.assign(this.stats, { saves: this.stats.saves + 1, savedStep: step, readMs, putMs });
  }

  /** A save that failed: nothing was stored, and the next apply may try again. */
  failed(now: number): void {
    this.inFlight = false;
    this.lastEnd = now;
  }
}

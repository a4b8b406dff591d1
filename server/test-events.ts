/** Helpers for the history and event-stream tests: a whole round played by scripted clients with stats, and an SSE reader. */
import { encodeBitmap } from '../src/run/bitmap';
import type { CommitStats } from '../src/net/messages';
import type { RunConfig } from '../src/run/run-config';
import type { Round } from '../src/run/types';
import type { TestClient } from './test-client';
import { encodedTestUpdate } from './test-helpers';

export const TEST_CHECKSUM = '0123456789abcdef';

/** Every client commits (with its stats) and uploads, then witnesses everything; resolves once the round is agreed. */
export async function playRoundWithStats(config: RunConfig, clients: TestClient[], round: Round, stats: (CommitStats | undefined)[]): Promise<void> {
  for (const [i, c] of clients.entries()) {
    const slot = round.slots.indexOf(c.id);
    c.commitAndUpload(config.runId, round.step, encodedTestUpdate(config, round.step, 1000 * round.step + slot + 1, round.assignments[slot]), stats[i]);
    await c.next('ack', (m) => m.of === 'commit');
  }
  await clients[0].next('phase', (m) => m.to === 'RoundWitness' && m.step === round.step);
  const held = encodeBitmap(round.slots.map(() => true));
  for (const c of clients) {
    c.witness(config.runId, round.step, held, TEST_CHECKSUM);
    await c.next('ack', (m) => m.of === 'witness');
  }
  await clients[0].next('agreed', (m) => m.step === round.step);
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Reads GET /api/events with fetch; `next` waits for the next event of a name, comments are kept apart. */
export class SseReader {
  private buffer = '';
  private readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private ended = false;
  private wake: (() => void) | null = null;

  private constructor(
    readonly res: Response,
    private readonly abort: AbortController,
  ) {
    void this.pump();
  }

  static async open(url: string): Promise<SseReader> {
    const abort = new AbortController();
    const res = await fetch(`${url}/api/events`, { signal: abort.signal });
    return new SseReader(res, abort);
  }

  private async pump(): Promise<void> {
    const reader = this.res.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, cut);
          this.buffer = this.buffer.slice(cut + 2);
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (event !== undefined) this.events.push({ event, data: data.join('\n') });
          for (const l of lines) if (l.startsWith(':')) this.comments.push(l);
        }
        this.wake?.();
      }
    } catch {
      // aborted
    }
    this.ended = true;
    this.wake?.();
  }

  /** Whether the server ended the stream. */
  get done(): boolean {
    return this.ended;
  }

  async next(event: string, timeoutMs = 5000): Promise<unknown> {
    await this.until(() => this.events.some((e) => e.event === event), `a ${event} event`, timeoutMs);
    const i = this.events.findIndex((e) => e.event === event);
    return JSON.parse(this.events.splice(i, 1)[0].data);
  }

  async until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.ended) throw new Error(`the stream ended while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Event names received and not read yet. */
  pending(): string[] {
    return this.events.map((e) => e.event);
  }

  close(): void {
    this.abort.abort();
  }
}

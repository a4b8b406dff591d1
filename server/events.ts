/**
 * GET /api/events: the run's live history as server-sent events (the
 * Network page). EventHub keeps the open streams: at most `maxStreams` at
 * once (more get 503), a heartbeat comment every `heartbeatMs` so proxies
 * and the browser see a live connection, and a bound on what each stream
 * may have buffered: a reader that falls `maxBufferedBytes` behind is cut
 * off (its EventSource reconnects and the page reloads the history it
 * missed) instead of growing the coordinator's memory. A stream's close
 * removes it.
 *
 * publishRunEvents connects the hub to the coordinator: after each stored
 * step, the ended round's history row (`round`), and whenever they changed
 * the status, the leaderboard and the epochs (src/net/history.ts LIVE_EVENTS).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_EPOCHS, type LiveEvent } from '../src/net/history';
import type { RunState, Effect } from '../src/run/types';
import { HttpError } from './api';
import type { Coordinator } from './coordinator';
import { leaderboard, liveStatus } from './history';
import type { Logger } from './log';
import type { Store } from './store';

export interface EventHubLimits {
  maxStreams: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** The reconnection delay the browser is told (`retry:`). */
  retryMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventHubLimits = { maxStreams: 100, maxBufferedBytes: 1 << 20, heartbeatMs: 15_000, retryMs: 2000 };

/** One event in the wire format. */
export function formatEvent(e: LiveEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export class EventHub {
  private readonly streams = new Set<ServerResponse>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  readonly limits: EventHubLimits;

  constructor(
    private readonly log: Logger = () => {},
    limits: Partial<EventHubLimits> = {},
  ) {
    this.limits = { ...DEFAULT_EVENT_LIMITS, ...limits };
  }

  /** Open streams. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * Answers the request with an event stream that stays open, starting with `initial`. Throws HttpError 503
   * when the hub is full or closed (before anything is written, so the caller's JSON error goes out).
   */
  open(req: IncomingMessage, res: ServerResponse, head: boolean, initial: readonly LiveEvent[] = []): void {
    if (this.closed) throw new HttpError(503, 'events-unavailable', 'the server is shutting down');
    if (this.streams.size >= this.limits.maxStreams) {
      res.setHeader('Retry-After', '30');
      throw new HttpError(503, 'too-many-streams', `${this.limits.maxStreams} event streams are open already; try again later`);
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    if (head) {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    this.streams.add(res);
    const drop = () => this.remove(res);
    res.once('close', drop);
    req.once('close', drop);
    this.write(res, `retry: ${this.limits.retryMs}\n\n` + initial.map(formatEvent).join(''));
    this.heartbeat ??= setInterval(() => this.send(': heartbeat\n\n'), this.limits.heartbeatMs);
    this.heartbeat.unref?.();
  }

  broadcast(e: LiveEvent): void {
    if (this.streams.size > 0) this.send(formatEvent(e));
  }

  /** Ends every stream (a shutdown: http.Server.close waits for open responses) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const res of [...this.streams]) {
      this.remove(res);
      res.end();
    }
  }

  private send(chunk: string): void {
    for (const res of [...this.streams]) this.write(res, chunk);
  }

  private write(res: ServerResponse, chunk: string): void {
    if (res.writableLength + Buffer.byteLength(chunk) > this.limits.maxBufferedBytes) {
      this.log('events-stream-dropped', { reason: `over ${this.limits.maxBufferedBytes} bytes buffered for a slow reader` });
      this.remove(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }

  private remove(res: ServerResponse): void {
    this.streams.delete(res);
    if (this.streams.size === 0 && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }
}

/**
 * Feeds the hub from the coordinator: called after each step is stored and its effects carried out. Returns
 * the function that stops it.
 */
export function publishRunEvents(coordinator: Coordinator, store: Store, hub: EventHub): () => void {
  let status = JSON.stringify(liveStatus(coordinator.state));
  let board = '';
  let epochs = '';
  return coordinator.watch((state: RunState, effects: readonly Effect[]) => {
    for (const e of effects) {
      if (e.type !== 'agreed') continue;
      const row = store.round(e.step);
      if (row !== null) hub.broadcast({ event: 'round', data: row });
    }
    const s = liveStatus(state);
    const sJson = JSON.stringify(s);
    if (sJson !== status) {
      status = sJson;
      hub.broadcast({ event: 'status', data: s });
    }
    if (hub.size === 0) {
      // The rest costs queries; a new stream's page loads them with /api/history, and gets them again on the next change.
      board = epochs = '';
      return;
    }
    // Points move at a round's end (vesting, strikes); checkpoints settle when their round's checksum is agreed.
    if (effects.some((e) => e.type === 'agreed' || e.type === 'points' || e.type === 'ejected' || e.type === 'forfeited' || e.type === 'epochEnd')) {
      const b = leaderboard(state, store.walletBindings());
      const bJson = JSON.stringify(b);
      if (bJson !== board) {
        board = bJson;
        hub.broadcast({ event: 'leaderboard', data: b });
      }
      const ep = store.epochs(MAX_EPOCHS);
      const epJson = JSON.stringify(ep);
      if (epJson !== epochs) {
        epochs = epJson;
        hub.broadcast({ event: 'epochs', data: ep });
      }
    }
  });
}

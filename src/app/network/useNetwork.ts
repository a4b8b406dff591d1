/**
 * The run's history, live: loads /api/history (the latest KEEP_ROUNDS rounds,
 * page by page), then follows /api/events. Every answer and event is
 * validated with the shared schemas (src/net/history.ts); one that does not
 * parse is dropped and said so. EventSource reconnects by itself after a
 * drop; each reconnect reloads the history from the newest round held, so
 * nothing missed in between is lost. A stream the server refused (EventSource
 * gives up: a 503 when too many are open) is tried again after RETRY_MS.
 */
import { useEffect, useState } from 'react';
import { historyResponseSchema, LIVE_EVENTS, MAX_HISTORY_ROUNDS, parseLiveEvent, type HistoryResponse, type LiveEvent, type LiveEventName } from '../../net/history';
import { coordinatorOrigin } from '../../run-client/tab-run';
import { errorMessage } from '../format';
import { applyEvent, applyHistory, EMPTY_NETWORK, historyStart, KEEP_ROUNDS, type NetworkData } from './network-data';

/** connecting: before the first history; live: the stream is open; reconnecting: it dropped, EventSource retries; unreachable: the coordinator did not answer. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'unreachable';

export interface NetworkState extends NetworkData {
  connection: Connection;
  /** The last problem (a failed request, an invalid event), or null. */
  error: string | null;
}

const RETRY_MS = 5000;
const MAX_PAGES = Math.ceil(KEEP_ROUNDS / MAX_HISTORY_ROUNDS) + 2;

async function fetchHistory(origin: string, fromStep: number): Promise<HistoryResponse> {
  const res = await fetch(`${origin}/api/history?fromStep=${fromStep}&limit=${MAX_HISTORY_ROUNDS}`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`GET /api/history answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const parsed = historyResponseSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`GET /api/history sent an answer that does not match its schema: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

export function useNetwork(origin: string = coordinatorOrigin()): NetworkState {
  const [state, setState] = useState<NetworkState>({ ...EMPTY_NETWORK, connection: 'connecting', error: null });

  useEffect(() => {
    let disposed = false;
    let data: NetworkData = EMPTY_NETWORK;
    /** Why the last history load failed, or null once one succeeded. */
    let historyError: string | null = null;
    let stream: 'connecting' | 'open' | 'dropped' | 'refused' = 'connecting';
    let eventError: string | null = null;
    const publish = () => {
      if (disposed) return;
      const connection: Connection = historyError !== null || stream === 'refused' ? 'unreachable' : stream === 'open' ? 'live' : stream === 'dropped' ? 'reconnecting' : 'connecting';
      const streamError = stream === 'dropped' ? 'The live stream dropped; reconnecting…' : stream === 'refused' ? 'The coordinator refused the live stream; retrying in a few seconds.' : null;
      setState({ ...data, connection, error: historyError ?? streamError ?? eventError });
    };

    // One history load at a time; a reconnect during one asks for another after it.
    let loading = false;
    let again = false;
    let retryLoad: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      try {
        let from = historyStart(data, null);
        for (let page = 0; page < MAX_PAGES && !disposed; page++) {
          const res = await fetchHistory(origin, from);
          // A first load of a long run jumps to its latest rounds instead of paging from step 0.
          const start = historyStart(data, res.status.step);
          if (data.rounds.length === 0 && page === 0 && start > from) {
            from = start;
            continue;
          }
          data = applyHistory(data, res);
          historyError = null;
          publish();
          if (!res.more) break;
          from = res.nextStep;
        }
      } catch (e) {
        historyError = `The coordinator is unreachable: ${errorMessage(e)}`;
        publish();
        clearTimeout(retryLoad);
        retryLoad = setTimeout(() => void load(), RETRY_MS);
      } finally {
        loading = false;
      }
      if (again && !disposed) {
        again = false;
        void load();
      }
    };

    let source: EventSource | null = null;
    let reopen: ReturnType<typeof setTimeout> | undefined;
    const listen = () => {
      const es = new EventSource(`${origin}/api/events`);
      source = es;
      es.onopen = () => {
        // Rounds may have ended while the stream was down.
        const missed = stream !== 'connecting';
        stream = 'open';
        publish();
        if (missed) void load();
      };
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) {
          // EventSource gave up (the server refused the stream, e.g. too many open): try again later, ourselves.
          stream = 'refused';
          es.close();
          clearTimeout(reopen);
          reopen = setTimeout(() => {
            if (!disposed) listen();
          }, RETRY_MS);
        } else stream = 'dropped';
        publish();
      };
      for (const name of Object.keys(LIVE_EVENTS) as LiveEventName[]) {
        es.addEventListener(name, (ev) => {
          try {
            data = applyEvent(data, { event: name, data: parseLiveEvent(name, (ev as MessageEvent<string>).data) } as LiveEvent);
          } catch (e) {
            eventError = `Ignored an event: ${errorMessage(e)}`;
          }
          publish();
        });
      }
    };

    listen();
    void load();
    return () => {
      disposed = true;
      clearTimeout(retryLoad);
      clearTimeout(reopen);
      source?.close();
    };
  }, [origin]);

  return state;
}

/**
 * The client's copy of the run state, kept from the coordinator's state
 * stream (docs/design.md §11): the whole state after `welcome`, then one diff
 * per stored step, each applied to the version it names. A diff
 * that does not follow the version held (a frame lost or refused), comes from
 * another server process, or does not fit the state held, makes the client
 * ask for the whole state again (`stateGet`) and drop diffs until it comes, so
 * the copy never drifts from the coordinator's.
 *
 * What the rest of the client sees is unchanged by the stream: a `welcome`
 * with the state, then a `state` message after every change.
 */
import type { ServerMessage, ServerMessageOf } from '../net/messages';
import { applyState, PatchError } from '../run/state-diff';
import type { RunState } from '../run/types';

/** A server message as the client's logic sees it: the state stream turned into whole states. */
export type RunMessage =
  | Exclude<ServerMessage, { type: 'welcome' | 'state' | 'stateDelta' | 'part' }>
  | (ServerMessageOf<'welcome'> & { state: RunState })
  | { type: 'state'; state: RunState };
export type RunMessageOf<T extends RunMessage['type']> = Extract<RunMessage, { type: T }>;

export class StateReceiver {
  private held: { serverEpoch: string; version: number; state: RunState } | null = null;
  /** The welcome waiting for its state. */
  private welcome: ServerMessageOf<'welcome'> | null = null;
  /** A whole state is on its way (after welcome or stateGet): diffs until then are dropped. */
  private awaitingFull = false;
  /** Whole states asked for since this receiver began. */
  requests = 0;

  /** `requestFull` sends `stateGet`. */
  constructor(private readonly requestFull: () => void) {}

  get state(): RunState | null {
    return this.held?.state ?? null;
  }

  get version(): number | null {
    return this.held?.version ?? null;
  }

  /** The message the client's logic sees for a server message (parts already joined), or null when it sees none yet. */
  receive(msg: ServerMessage): RunMessage | null {
    switch (msg.type) {
      case 'welcome':
        // A new connection: its server may be a restarted one, so nothing held before counts.
        this.welcome = msg;
        this.held = null;
        this.awaitingFull = true;
        return null;
      case 'state':
        return this.full(msg);
      case 'stateDelta':
        return this.delta(msg);
      case 'part':
        throw new Error('StateReceiver takes whole messages: join parts first (ServerFrameReader)');
      default:
        return msg;
    }
  }

  private full({ serverEpoch, version, state }: ServerMessageOf<'state'>): RunMessage {
    this.held = { serverEpoch, version, state };
    this.awaitingFull = false;
    const welcome = this.welcome;
    this.welcome = null;
    return welcome ? { ...welcome, state } : { type: 'state', state };
  }

  private delta(stamp: ServerMessageOf<'stateDelta'>): RunMessage | null {
    if (this.awaitingFull) return null;
    const held = this.held;
    if (held === null || held.serverEpoch !== stamp.serverEpoch) return this.need();
    if (stamp.version <= held.version) return null; // already holds it
    if (stamp.prev !== held.version) return this.need();
    let state: RunState;
    try {
      state = applyState(held.state, stamp.changes);
    } catch (e) {
      if (e instanceof PatchError) return this.need();
      throw e;
    }
    this.held = { ...held, version: stamp.version, state };
    return { type: 'state', state };
  }

  /**
   * The socket refused a frame, maybe the whole state being waited for: the next diff then asks again (not now, or a
   * server sending a bad state would be asked in a loop).
   */
  frameRefused(): void {
    this.awaitingFull = false;
  }

  private need(): null {
    if (!this.awaitingFull) {
      this.awaitingFull = true;
      this.requests++;
      this.requestFull();
    }
    return null;
  }
}

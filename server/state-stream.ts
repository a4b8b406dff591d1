/**
 * The coordinator's side of the state stream (docs/design.md §11): a version
 * per stored state, and for each step the frames of what changed, computed
 * and serialized once for all clients. Versions count from 0 at each start of
 * the process under a new random server epoch, so nothing needs storing: a
 * client of an earlier process reconnects and gets the whole state anyway,
 * and one that somehow kept a socket sees a foreign epoch and asks for it.
 */
import { randomBytes } from 'node:crypto';
import { messageFrames } from '../src/net/message-parts';
import type { ServerMessageOf } from '../src/net/messages';
import { diffState } from '../src/run/state-diff';
import type { RunState } from '../src/run/types';

export class StateStream {
  readonly serverEpoch = randomBytes(8).toString('hex');
  private current = 0;
  /** The whole state's frames for the current version, built on the first request for it. */
  private full: { version: number; frames: string[] } | null = null;

  get version(): number {
    return this.current;
  }

  /** The step from `prev` to `next` was stored: the frames that tell every client, or none when the state did not change. */
  advance(prev: RunState, next: RunState): string[] {
    const changes = diffState(prev, next);
    if (changes === null) return [];
    this.current++;
    return messageFrames(JSON.stringify({ type: 'stateDelta', serverEpoch: this.serverEpoch, version: this.current, prev: this.current - 1, changes } satisfies ServerMessageOf<'stateDelta'>));
  }

  /** The `state` message of the whole state (`json` is its JSON text) at the current version, as frames. */
  fullFrames(json: string): string[] {
    if (this.full?.version !== this.current) {
      // Spliced rather than stringified again: the coordinator already holds the state's JSON.
      const head = JSON.stringify({ type: 'state', serverEpoch: this.serverEpoch, version: this.current });
      this.full = { version: this.current, frames: messageFrames(`${head.slice(0, -1)},"state":${json}}`) };
    }
    return this.full.frames;
  }
}

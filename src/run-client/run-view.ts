/**
 * What a tab shows of its run (the Contribute page, `tessera.run.state()`,
 * the e2e tests): the RunView, assembled from the coordinator's state and
 * this tab's own counters on every change, with its histories bounded so a
 * tab left open for days does not grow without end.
 */
import type { PeerState } from '../net/peer-mesh';
import type { RunConfig } from '../run/run-config';
import type { Phase, RunState } from '../run/types';
import type { MemoryPlan, SaveStatsView } from '../train/run-worker-protocol';
import type { PayloadsFrom } from './mesh-gossip';
import type { UtilizationView } from './utilization';
import { standingOf, type Standing } from './verifier-duty';

export type ClientStatus = 'idle' | 'connecting' | 'catching-up' | 'joining' | 'training' | 'reconnecting' | 'left' | 'error';

export interface RunView {
  status: ClientStatus;
  /** The run's phase as this tab last heard it. */
  state: Phase | null;
  epoch: number;
  step: number;
  clientId: string | null;
  /** Parameter checksum after the last round this tab applied. */
  checksum: string | null;
  appliedStep: number;
  peers: { id: string; state: PeerState }[];
  points: number;
  lossHistory: { step: number; loss: number }[];
  /** Each round this tab applied: the agreed updates' hashes and the checksum after. */
  applied: { step: number; hashes: string[]; checksum: string }[];
  timeline: { step: number; phase: Phase; at: number }[];
  tokensPerSec: number;
  /** Time the worker spent training, in all (the verification cost compares with it). */
  trainMs: number;
  /** The GPU's share of recent wall time (training, verifying, applying), after the warm-up. */
  utilization: UtilizationView;
  bytesSent: number;
  bytesReceived: number;
  /** Where the payloads this tab holds came from (first arrival each): their author's push, a forwarding link, or the payload store. */
  payloadsFrom: PayloadsFrom;
  members: number;
  /** Verification standing: probation, strikes, held/vested/forfeited points, verifier duty. */
  standing: Standing | null;
  /**
   * Verification so far: checks scored, their time in all, the recomputation's part of it, and the longest one round's
   * took (it delays this tab's witness report, so it bounds what verification adds to a round).
   */
  verified: { checks: number; ms: number; recomputeMs: number; maxRoundMs: number };
  /** This tab's memory plan for the run's model (src/train/memory-plan.ts), once made. */
  memory: MemoryPlan | null;
  /**
   * How this tab got its parameters last (its resume record after a reload, or a checkpoint download), at which
   * step, and what saving its resume record has cost so far.
   */
  resume: { from: 'record' | 'checkpoint' | null; step: number; momentumStep: number; ms: number; saved: SaveStatsView | null };
  error: string | null;
}

export const TIMELINE_MAX = 200;
export const LOSS_MAX = 5000;
export const APPLIED_MAX = 1000;

/** The newest `max` entries of `list` followed by `item`. */
export function appendBounded<T>(list: readonly T[], item: T, max: number): T[] {
  return [...list, item].slice(-max);
}

/** What the view reads afresh on every change, from the coordinator's state and the tab's parts. */
export interface ViewSources {
  id: string;
  config: RunConfig | null;
  server: RunState | null;
  checksum: string | null;
  appliedStep: number;
  peers: RunView['peers'];
  bytesSent: number;
  bytesReceived: number;
  tokens: number;
  trainMs: number;
  utilization: UtilizationView;
  payloadsFrom: PayloadsFrom;
}

export function composeView(view: RunView, src: ViewSources, patch: Partial<RunView>): RunView {
  const s = src.server;
  return {
    ...view,
    state: s?.phase ?? null,
    epoch: s?.epoch ?? 0,
    step: s?.step ?? 0,
    // A `points` message may be newer than the state; the state wins only when it names this tab.
    points: s?.clients[src.id]?.points ?? view.points,
    members: s ? Object.values(s.clients).filter((c) => c.status === 'member').length : 0,
    standing: standingOf(src.config, s, src.id),
    checksum: src.checksum,
    appliedStep: src.appliedStep,
    peers: src.peers,
    bytesSent: src.bytesSent,
    bytesReceived: src.bytesReceived,
    tokensPerSec: src.trainMs > 0 ? src.tokens / (src.trainMs / 1000) : 0,
    trainMs: src.trainMs,
    utilization: src.utilization,
    payloadsFrom: src.payloadsFrom,
    ...patch,
  };
}

export function emptyView(clientId: string): RunView {
  return {
    status: 'idle',
    state: null,
    epoch: 0,
    step: 0,
    clientId,
    checksum: null,
    appliedStep: 0,
    peers: [],
    points: 0,
    lossHistory: [],
    applied: [],
    timeline: [],
    tokensPerSec: 0,
    trainMs: 0,
    utilization: { busyMs: 0, wallMs: 0, share: null },
    bytesSent: 0,
    bytesReceived: 0,
    payloadsFrom: { peer: 0, forwarded: 0, store: 0 },
    members: 0,
    standing: null,
    verified: { checks: 0, ms: 0, recomputeMs: 0, maxRoundMs: 0 },
    memory: null,
    resume: { from: null, step: 0, momentumStep: -1, ms: 0, saved: null },
    error: null,
  };
}

/**
 * The current view and its subscribers. `update` assembles a new view and
 * tells the subscribers; the parts may also set fields of `current` quietly
 * when an `update` follows before anyone needs to look.
 */
export class RunViewStore {
  current: RunView;
  private readonly listeners = new Set<() => void>();

  constructor(
    clientId: string,
    private readonly sources: () => ViewSources,
  ) {
    this.current = emptyView(clientId);
  }

  update(patch: Partial<RunView>): void {
    this.current = composeView(this.current, this.sources(), patch);
    for (const fn of this.listeners) fn();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/**
 * What the headless client reports of its run: a summary of the RunView
 * (the same view a tab's Contribute page shows), drawn live on a terminal
 * (display.tsx) or written as JSON lines for logs and scripts: one line
 * whenever the summary changes, carrying the rounds applied since the last
 * line, so a reader can follow every round's agreed set and checksum.
 */
import type { RunView } from '../run-client/run-view';

export interface Progress {
  status: RunView['status'];
  phase: RunView['state'];
  epoch: number;
  step: number;
  appliedStep: number;
  clientId: string | null;
  checksum: string | null;
  points: number;
  /** The loss of the last round this client trained, null before its first. */
  loss: number | null;
  tokensPerSec: number;
  members: number;
  peers: { connected: number; total: number };
  error: string | null;
  /** How the parameters came last: this client's resume record or the run's checkpoint. */
  resumedFrom: RunView['resume']['from'];
}

export function progressOf(v: RunView): Progress {
  return {
    status: v.status,
    phase: v.state,
    epoch: v.epoch,
    step: v.step,
    appliedStep: v.appliedStep,
    clientId: v.clientId,
    checksum: v.checksum,
    points: v.points,
    loss: v.lossHistory.at(-1)?.loss ?? null,
    tokensPerSec: Math.round(v.tokensPerSec),
    members: v.members,
    peers: { connected: v.peers.filter((p) => p.state === 'connected').length, total: v.peers.length },
    error: v.error,
    resumedFrom: v.resume.from,
  };
}

export interface ViewSource {
  state(): RunView;
  subscribe(fn: () => void): () => void;
}

export type ProgressLine = Progress & { at: string; applied: RunView['applied'] };

/** Writes a line now and on every change of the summary; returns the unsubscribe. */
export function writeJsonLines(source: ViewSource, write: (line: string) => void, now = () => new Date()): () => void {
  let last = '';
  let appliedUpTo = -1;
  const emit = () => {
    const v = source.state();
    const summary = JSON.stringify(progressOf(v));
    const applied = v.applied.filter((a) => a.step > appliedUpTo);
    if (summary === last && applied.length === 0) return;
    last = summary;
    if (applied.length > 0) appliedUpTo = applied[applied.length - 1].step;
    const line: ProgressLine = { at: now().toISOString(), ...progressOf(v), applied };
    write(JSON.stringify(line));
  };
  emit();
  return source.subscribe(emit);
}

/**
 * What e2e/verification.spec.ts reads out of a run with rogues in it: per
 * rogue, the rounds it cheated in and which of them the network agreed and
 * paid; per honest tab, the rounds it trained and what it earned; and the
 * coordinator's resync log lines. Plain data, so the spec's assertions (and
 * their failure messages) stay one line each.
 */
import type { Status } from '../run-harness';
import type { RunView } from '../../src/run-client/run-client';
import { decodeUpdateBundle } from '../../src/net/update-bundle';
import type { RogueView } from './rogue-client';

/** The coordinator's own record of every agreed set (GET /api/updates, paged): hashes by step. */
export async function agreedSets(url: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let from = 0; ; ) {
    const res = await fetch(`${url}/api/updates?fromStep=${from}`);
    if (!res.ok) throw new Error(`GET /api/updates?fromStep=${from}: HTTP ${res.status}`);
    const bundle = decodeUpdateBundle(new Uint8Array(await res.arrayBuffer()));
    for (const r of bundle.rounds) out.set(r.step, r.hashes);
    if (bundle.rounds.length === 0 || bundle.toStep <= from) return out;
    from = bundle.toStep;
  }
}

/** /api/status's client entry, with the standing the defended coordinator adds. */
export interface ClientStatus {
  id: string;
  state: string;
  points: number;
  standing?: { probation: boolean; verifiedRounds: number; strikes: number; held: number; vested: number; forfeited: number };
}

export interface RogueVerdict {
  kind: string;
  id: string;
  /** Steps it committed a payload in (sent), and those the coordinator acknowledged. */
  committed: number[];
  acked: number[];
  /** Steps whose agreed set (as the honest tabs applied it, or as the coordinator stored it) held one of its payloads. */
  agreed: number[];
  points: number;
  state: string;
  standing: ClientStatus['standing'] | null;
  errors: string[];
  reconnect: string;
  witnessed: number;
  scoresSent: number;
  /** Payloads it handed to peers over WebRTC, and received from them. */
  meshSends: number;
  meshReceived: number;
  sources: string[];
}

/** "3–6" style ranges of sorted steps. */
export function steps(xs: number[]): string {
  if (xs.length === 0) return 'none';
  const out: string[] = [];
  let a = xs[0];
  let b = xs[0];
  for (const x of [...xs.slice(1), NaN]) {
    if (x === b + 1) {
      b = x;
      continue;
    }
    out.push(a === b ? `${a}` : `${a}–${b}`);
    a = b = x;
  }
  return out.join(', ');
}

export function rogueVerdict(view: RogueView, honest: RunView[], stored: Map<number, string[]>, status: Status, reconnect: string): RogueVerdict {
  const mine = new Set(view.committed.map((c) => c.hash));
  const agreed = new Set<number>();
  for (const v of honest) for (const a of v.applied) if (a.hashes.some((h) => mine.has(h))) agreed.add(a.step);
  for (const [step, hashes] of stored) if (hashes.some((h) => mine.has(h))) agreed.add(step);
  const entry = status.clients.find((c) => c.id === view.id) as ClientStatus | undefined;
  const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
  return {
    kind: view.kind,
    id: view.id,
    committed: uniq(view.committed.map((c) => c.step)),
    acked: uniq(view.committed.filter((c) => c.acked).map((c) => c.step)),
    agreed: [...agreed].sort((a, b) => a - b),
    points: entry?.points ?? 0,
    state: entry?.state ?? 'absent',
    standing: entry?.standing ?? null,
    errors: [...new Set(view.errors.map((e) => e.code))],
    reconnect,
    witnessed: view.witnessed.length,
    scoresSent: view.witnessed.reduce((n, w) => n + w.scores.length, 0),
    meshSends: view.meshSends,
    meshReceived: view.meshReceived,
    sources: [...new Set(view.committed.map((c) => c.source.replace(/ [0-9a-f]{64}$/, '').replace(/step \d+/, 'step N')))],
  };
}

/** One line per rogue, for the log and the test's annotations. */
export function describeRogue(v: RogueVerdict): string {
  const standing = v.standing ? ` standing ${JSON.stringify(v.standing)}` : '';
  return (
    `rogue ${v.kind} ${v.id.slice(0, 8)}: committed in rounds ${steps(v.committed)} (acked ${steps(v.acked)}), ` +
    `agreed in rounds ${steps(v.agreed)}, paid ${v.points} points, state ${v.state}, reconnect → ${v.reconnect}, ` +
    `witnessed ${v.witnessed} rounds (${v.scoresSent} scores), WebRTC sent ${v.meshSends} / received ${v.meshReceived} payloads, errors [${v.errors.join(', ')}], payloads: ${v.sources.join('; ')}${standing}`
  );
}

export interface HonestVerdict {
  id: string;
  /** Its client entry's state in /api/status ('member' while it trains). */
  state: string;
  /** Steps it trained in that the run has finished (step < status.step). */
  trained: number[];
  points: number;
  /** Points + the unvested ones the standing holds. */
  earned: number;
  standing: ClientStatus['standing'] | null;
  resyncs: number[];
  /** Steps whose agreed set left its update out: false exclusions. */
  excluded: number[];
  /** Its verified rounds' committee medians. */
  medians: { step: number; median: number }[];
}

export function honestVerdict(view: RunView, status: Status, logs: string[]): HonestVerdict {
  const entry = status.clients.find((c) => c.id === view.clientId) as ClientStatus | undefined;
  const held = entry?.standing?.held ?? 0;
  return {
    id: view.clientId!,
    state: entry?.state ?? 'absent',
    trained: [...new Set(view.lossHistory.map((l) => l.step))].filter((s) => s < status.step && s < view.appliedStep).sort((a, b) => a - b),
    points: entry?.points ?? 0,
    earned: (entry?.points ?? 0) + held,
    standing: entry?.standing ?? null,
    resyncs: resyncSteps(logs, view.clientId!),
    excluded: exclusionSteps(logs, view.clientId!),
    medians: verdictMedians(logs, view.clientId!),
  };
}

/** The coordinator's JSON log records of one event kind. */
export function logEvents(logs: string[], event: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of logs.flatMap((l) => l.split('\n'))) {
    if (!line.includes(`"${event}"`)) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.event === event) out.push(j);
    } catch {
      // not a log line of ours
    }
  }
  return out;
}

/** Steps of the coordinator's `resync` log lines for this client. */
export function resyncSteps(logs: string[], clientId: string): number[] {
  return logEvents(logs, 'resync')
    .filter((j) => j.clientId === clientId)
    .map((j) => (typeof j.step === 'number' ? j.step : -1));
}

/** Steps whose agreed set left this client's committed update out (the `agreed` log lines' excluded lists). */
export function exclusionSteps(logs: string[], clientId: string): number[] {
  return logEvents(logs, 'agreed')
    .filter((j) => Array.isArray(j.excluded) && (j.excluded as { clientId?: string }[]).some((x) => x.clientId === clientId))
    .map((j) => (typeof j.step === 'number' ? j.step : -1));
}

/** The committee median (per-mille) of every verdict on this client's updates, by step. */
export function verdictMedians(logs: string[], clientId: string): { step: number; median: number }[] {
  return logEvents(logs, 'verdict')
    .filter((j) => j.clientId === clientId && typeof j.median === 'number')
    .map((j) => ({ step: j.step as number, median: j.median as number }));
}

/** For each step both views applied: where checksums or agreed sets differ ("step 5: checksum a≠b"). */
export function divergences(views: RunView[]): string[] {
  const out: string[] = [];
  const last = Math.min(...views.map((v) => v.appliedStep));
  for (let step = 0; step < last; step++) {
    const rounds = views.map((v) => v.applied.find((a) => a.step === step));
    if (rounds.some((r) => r === undefined)) {
      out.push(`step ${step}: applied by tabs ${rounds.map((r, i) => (r ? i : null)).filter((i) => i !== null).join(',')} only`);
      continue;
    }
    const sums = new Set(rounds.map((r) => r!.checksum));
    if (sums.size > 1) out.push(`step ${step}: checksums ${[...sums].join(' ≠ ')}`);
    const sets = new Set(rounds.map((r) => r!.hashes.join(',')));
    if (sets.size > 1) out.push(`step ${step}: agreed sets differ`);
  }
  return out;
}

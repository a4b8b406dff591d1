/**
 * Fakes for the run client's parts in unit tests: a worker link that answers
 * requests and records them, a catch-up source serving a checkpoint and
 * agreed rounds, a socket that records what it sends, a mesh, and one tab's
 * parts wired together as RunClient wires them.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ClientMessage, RelayPutHeader } from '../net/messages';
import type { BundleRound } from '../net/update-bundle';
import type { PeerState } from '../net/peer-mesh';
import type { PeerMessage } from '../net/peer-messages';
import { commitment, generateKeyPair } from '../protocol/commitment';
import type { RunConfig } from '../run/run-config';
import { createRunState } from '../run/state-machine';
import { cid, sum, testConfig } from '../run/test-helpers';
import type { ClientRecord, Round, RunState } from '../run/types';
import type { RunWorkerRequest } from '../train/run-worker-protocol';
import type { CatchUpSource, Checkpoint } from './catch-up';
import { PayloadInbox } from './payload-inbox';
import { ReplicaSync } from './replica-sync';
import { RoundDuties } from './round-duties';
import { RunViewStore } from './run-view';
import { WorkChain } from './work-chain';
import type { RunWorkerLink } from './worker-link';

export { cid, sum };

/** A request as the fake worker saw it. */
export type Req = { type: RunWorkerRequest['type'] } & Record<string, unknown>;
type Handler = (msg: Req) => unknown;

export const payload = (n: number, length = 16): Uint8Array => new Uint8Array(length).fill(n);
export const hashOf = (bytes: Uint8Array): string => bytesToHex(commitment(bytes));

const savedStats = { saves: 0, skipped: 0, savedStep: -1, readMs: 0, putMs: 0 };

/** The checksum the fake worker reports after applying round `step`. */
export const afterStep = (step: number): string => sum(0x1000 + step + 1);

/** Answers every request the run client makes; a test replaces the handlers it cares about. */
export class FakeWorker {
  readonly calls: Req[] = [];
  readonly handlers: Record<RunWorkerRequest['type'], Handler> = {
    plan: () => ({ type: 'planned', plan: { fits: true, microBatch: 2, reason: null }, adapter: 'fake' }),
    resume: () => ({ type: 'resumed', resumed: null, reason: null }),
    load: (m) => ({ type: 'loaded', checksum: sum(0x1000 + (m.step as number)), parameters: 1, adapter: 'fake' }),
    apply: (m) => ({ type: 'applied', step: m.step, checksum: afterStep(m.step as number), ms: 1, saved: { ...savedStats, savedStep: (m.step as number) + 1 } }),
    train: (m) => ({ type: 'trained', step: m.step, update: payload(100 + (m.step as number)), loss: 2.5, gradNorm: 1, count: m.count as number, tokens: 64, ms: 100 }),
    verify: (m) => ({ type: 'verified', step: m.step, scores: (m.checks as { slot: number }[]).map((c) => ({ slot: c.slot, score: 900 })), proofs: [], ms: 7, recomputeMs: 3 }),
    export: () => ({ type: 'exported', bytes: payload(9, 64) }),
  };

  readonly request = ((msg: Req) => {
    this.calls.push(msg);
    const handler = this.handlers[msg.type];
    return Promise.resolve().then(() => handler(msg));
  }) as unknown as RunWorkerLink['request'];

  types(): string[] {
    return this.calls.map((c) => c.type);
  }

  /** The steps of the apply requests, in order. */
  applied(): number[] {
    return this.calls.filter((c) => c.type === 'apply').map((c) => c.step as number);
  }
}

/** An agreed round of the catch-up history, its payloads hashed as the bundle would have them. */
export function agreedRound(step: number, payloads: Uint8Array[] = [payload(step)], checksum: string | null = afterStep(step - 1)): BundleRound {
  return { step, epoch: 0, lrBits: 0x3a83126f, checksum, slots: payloads.map((_, i) => i), clients: payloads.map((_, i) => cid(i + 1)), hashes: payloads.map(hashOf), payloads };
}

export class FakeSource implements CatchUpSource {
  checkpoint: Checkpoint = { epoch: 0, step: 0, checksum: sum(0x1000), bytes: payload(1, 32) };
  rounds: BundleRound[] = [];
  downloads = 0;
  readonly agreedFrom: number[] = [];
  readonly puts: { step: number; clientId: string; bytes: Uint8Array; signature: Uint8Array }[] = [];
  putAnswer: () => Promise<string> = () => Promise.resolve('stored');

  latestCheckpoint(): Promise<Checkpoint> {
    this.downloads++;
    return Promise.resolve({ ...this.checkpoint, bytes: this.checkpoint.bytes.slice() });
  }

  agreedSince(fromStep: number): Promise<{ toStep: number; rounds: BundleRound[] }> {
    this.agreedFrom.push(fromStep);
    const rounds = this.rounds.filter((r) => r.step >= fromStep);
    return Promise.resolve({ toStep: rounds.length > 0 ? rounds[rounds.length - 1].step + 1 : fromStep, rounds });
  }

  putCheckpoint(step: number, clientId: string, bytes: Uint8Array, signature: Uint8Array): Promise<string> {
    this.puts.push({ step, clientId, bytes, signature });
    return this.putAnswer();
  }
}

export class FakeSocket {
  up = true;
  readonly sent: ClientMessage[] = [];
  readonly uploads: { header: RelayPutHeader; bytes: Uint8Array }[] = [];
  /** Both kinds of frame, in the order they left. */
  readonly order: string[] = [];

  send(msg: ClientMessage): boolean {
    if (this.up) {
      this.sent.push(msg);
      this.order.push(msg.type);
    }
    return this.up;
  }

  sendPayload(header: RelayPutHeader, bytes: Uint8Array): boolean {
    if (this.up) {
      this.uploads.push({ header, bytes });
      this.order.push(header.type);
    }
    return this.up;
  }

  types(): string[] {
    return this.sent.map((m) => m.type);
  }
}

export class FakeMesh {
  readonly states = new Map<string, PeerState>();
  readonly sends: { to: string; hash: string; bytes: Uint8Array }[] = [];
  readonly messages: { to: string; message: PeerMessage }[] = [];
  readonly closed: string[] = [];

  state(id: string): PeerState {
    return this.states.get(id) ?? 'closed';
  }

  peers(): string[] {
    return [...this.states.keys()];
  }

  connect(id: string): void {
    if (!this.states.has(id)) this.states.set(id, 'connecting');
  }

  close(id: string): void {
    this.states.delete(id);
    this.closed.push(id);
  }

  send(to: string, bytes: Uint8Array, hash: string): Promise<void> {
    this.sends.push({ to, hash, bytes });
    return Promise.resolve();
  }

  sendMessage(to: string, message: PeerMessage): void {
    if (this.state(to) !== 'connected') throw new Error(`not connected to ${to}`);
    this.messages.push({ to, message });
  }
}

export function member(id: string, joinSeq: number, over: Partial<ClientRecord> = {}): ClientRecord {
  return { id, status: 'member', joinSeq, missedRounds: 0, points: 0, agreedUpdates: 0, verifiedRounds: 5, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace: null, ...over };
}

export function makeRound(step: number, slots: string[], over: Partial<Round> = {}): Round {
  return {
    step,
    seed: '00'.repeat(32),
    slots,
    assignments: slots.map((_, i) => ({ start: i * 4, count: 4 })),
    lrBits: 0x3a83126f,
    commitments: slots.map(() => null),
    witnesses: slots.map(() => null),
    copies: slots.map(() => null),
    overlaps: slots.map(() => null),
    checks: null,
    startedAt: 0,
    base: step,
    closedAt: null,
    ...over,
    trained: over.trained ?? (over.commitments ?? slots.map(() => null)).map((h) => (h === null ? null : 4)),
  };
}

/** One tab's parts, wired as RunClient wires them, around fakes. */
export function makeTab(opts: { config?: RunConfig; relayTimeoutMs?: number; viaBucket?: () => boolean } = {}) {
  const identity = generateKeyPair(new Uint8Array(32).fill(7));
  const id = bytesToHex(identity.publicKey);
  const config = opts.config ?? testConfig({ verification: { probationRounds: 0, vestingRounds: 0, sampleRate: 0, references: 4 } });
  const tab = {
    id,
    identity,
    config,
    server: createRunState(config, 0) as RunState,
    worker: new FakeWorker(),
    source: new FakeSource(),
    socket: new FakeSocket(),
    mesh: new FakeMesh(),
    relayAsks: [] as string[],
    errors: [] as unknown[],
  };
  const chain = new WorkChain((err) => tab.errors.push(err));
  const view: RunViewStore = new RunViewStore(id, () => ({
    id,
    config,
    server: tab.server,
    checksum: replica.checksum,
    appliedStep: replica.appliedStep,
    peers: [],
    bytesSent: duties.meshBytesSent,
    bytesReceived: 0,
    tokens: duties.tokens,
    trainMs: duties.trainMs,
    utilization: { busyMs: 0, wallMs: 0, share: null },
    payloadsFrom: { peer: 0, forwarded: 0, store: 0 },
  }));
  const inbox = new PayloadInbox((hash) => tab.relayAsks.push(hash), opts.relayTimeoutMs);
  const replica = new ReplicaSync({ worker: tab.worker, source: tab.source, view, config: () => config, server: () => tab.server });
  const duties = new RoundDuties({
    id,
    identity,
    worker: tab.worker,
    source: tab.source,
    socket: tab.socket,
    mesh: () => tab.mesh,
    inbox,
    replica,
    view,
    config: () => config,
    server: () => tab.server,
    enqueue: (work) => chain.enqueue(work),
    viaBucket: opts.viaBucket,
  });
  /** Settles everything queued on the chain so far (the fakes answer at once). */
  const settle = () => new Promise<void>((resolve) => chain.enqueue(async () => resolve()));
  return { ...tab, chain, view, inbox, replica, duties, settle };
}

/**
 * The checks between a client's round messages and the state machine's
 * events. A commit becomes a `commit` event only once it is signed by its
 * author for this run and step AND the server holds the payload it commits
 * to (uploaded with relayPut, then checked by checkPayload): the server
 * replays every agreed payload into checkpoints and serves it to joining
 * clients, so an agreed update whose bytes the server lacks must not exist.
 *
 * Client flow per round: `commit {step, hash, signature, count?, stats?}`, then the binary
 * `relayPut {step, hash}` + bytes; the server answers `ack {of: 'commit'}`
 * once both are in. The commit must come first: a relayPut without a
 * verified commit is refused (the server stores no bytes nobody signed).
 * A commit whose payload this client already uploaded for this step is
 * accepted at once (a commit retried after a reconnect).
 * With a payload bucket (payload-store.ts) the bytes skip the socket: the
 * server answers a verified commit with a presigned PUT URL for exactly the
 * bytes the round's assignment implies (`uploadUrl`), the author PUTs them
 * and sends `uploaded {step, hash}`, and the server reads the object back,
 * checks it like a relayPut, keeps its own copy and acks. The read is the
 * price of the copy check and of "a commit counts only once the coordinator
 * holds its payload" (src/run/state-machine.ts), which stay as they are.
 * Every refusal is a MessageError.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { MessageError, type ClientMessage, type CommitStats, type RelayPutHeader } from '../src/net/messages';
import { verifyWitness } from '../src/net/witness-signature';
import { verifyCommitment } from '../src/protocol/commitment';
import { encodedUpdateBytes, unitSizeFor } from '../src/protocol/update-codec';
import { bitmapError } from '../src/run/bitmap';
import { countError, witnessRound } from '../src/run/state-machine';
import type { Assignment, Round } from '../src/run/types';
import type { Coordinator, Outcome } from './coordinator';
import { CopyCheck } from './copy-check';
import { checkPayload } from './payload-check';
import { PayloadTooLarge, type BucketPayloadStore, type SignedUrl } from './payload-store';
import type { PayloadTraffic } from './payload-traffic';
import type { RunModel } from './run-model';
import type { Store } from './store';

interface PendingCommit {
  step: number;
  hash: string;
  signature: string;
  /** Display data the client reported with its commit (stored beside it, never judged). */
  stats?: CommitStats;
  /** The sequences the update trained (its payload's batch count): the assignment's count unless time-boxed. */
  count: number;
}

export type CommitResult = 'accepted' | 'awaiting-payload';

export class RoundGate {
  /** Verified commits whose payload has not arrived yet, per client. */
  private readonly pending = new Map<string, PendingCommit>();
  private readonly copies: CopyCheck;
  /** Clients whose upload the server is reading from the bucket: one read each at a time. */
  private readonly reading = new Set<string>();

  constructor(
    private readonly coordinator: Coordinator,
    private readonly store: Store,
    private readonly rm: RunModel,
    private readonly traffic: PayloadTraffic,
  ) {
    this.copies = new CopyCheck(store, rm, coordinator.config.verification.maxOverlapPermille);
  }

  commit(clientId: string, msg: Extract<ClientMessage, { type: 'commit' }>): CommitResult {
    const { round, slot } = this.slotIn(clientId, msg.step, 'train');
    if (round.commitments[slot] !== null) throw new MessageError('already-committed', `already committed in round ${round.step}`);
    const badCount = countError(this.coordinator.config, round.assignments[slot].count, msg.count);
    if (badCount !== null) throw new MessageError('bad-message', badCount);
    const count = msg.count ?? round.assignments[slot].count;
    const ok = verifyCommitment(hexToBytes(msg.hash), hexToBytes(msg.signature), hexToBytes(clientId), { runId: this.rm.runId, step: msg.step });
    if (!ok) throw new MessageError('bad-signature', `the commit signature does not verify for this client, run and step ${msg.step}`);
    // Only the client's own upload for this step counts (a retried commit after a reconnect):
    // a copy of someone else's hash must come with bytes that pass checkPayload for its own slot.
    const origin = this.store.payloadOrigin(msg.hash);
    if (origin !== null && origin.clientId === clientId && origin.step === msg.step) {
      this.accept(clientId, { step: msg.step, hash: msg.hash, signature: msg.signature, stats: msg.stats, count });
      return 'accepted';
    }
    this.pending.set(clientId, { step: msg.step, hash: msg.hash, signature: msg.signature, stats: msg.stats, count });
    return 'awaiting-payload';
  }

  relayPut(clientId: string, header: RelayPutHeader, payload: Uint8Array): void {
    const { round, slot } = this.slotIn(clientId, header.step, 'train');
    const pending = this.pendingFor(clientId, header);
    this.keep(clientId, pending, payload, round.assignments[slot]);
  }

  /** The presigned PUT for a commit awaiting its payload: exactly the size its assignment and trained count give an update of this run. */
  async uploadUrl(clientId: string, header: RelayPutHeader, bucket: BucketPayloadStore): Promise<SignedUrl & { size: number }> {
    const { round, slot } = this.slotIn(clientId, header.step, 'train');
    const pending = this.pendingFor(clientId, header);
    const size = this.updateBytes(round.assignments[slot], pending.count);
    const signed = await bucket.uploadUrl(header.hash, size);
    this.traffic.uploadUrls += 1;
    return { ...signed, size };
  }

  /** The author says its object is in the bucket: read it, check it as a relayPut, keep the server's copy, count the commit. */
  async uploaded(clientId: string, header: RelayPutHeader, bucket: BucketPayloadStore): Promise<void> {
    const { round, slot } = this.slotIn(clientId, header.step, 'train');
    const pending = this.pendingFor(clientId, header);
    if (this.reading.has(clientId)) throw new MessageError('rejected', `the server is already reading your upload of ${header.hash}`);
    this.reading.add(clientId);
    let bytes: Uint8Array | null;
    try {
      bytes = await bucket.get(header.hash, this.updateBytes(round.assignments[slot], pending.count));
    } catch (e) {
      if (e instanceof PayloadTooLarge) throw new MessageError('bad-payload', e.message);
      throw e;
    } finally {
      this.reading.delete(clientId);
    }
    if (bytes === null) throw new MessageError('not-found', `no object ${bucket.key(header.hash)} in the payload bucket; PUT it to the uploadUrl first`);
    this.traffic.bucketBytesRead += bytes.length;
    // The round may have moved on, or the client left, while the bucket answered.
    const now = this.slotIn(clientId, header.step, 'train');
    if (this.pending.get(clientId) !== pending) throw new MessageError('no-commitment', `your commit of ${header.hash} is no longer waiting for its payload`);
    this.keep(clientId, pending, bytes, now.round.assignments[now.slot]);
  }

  witness(clientId: string, msg: Extract<ClientMessage, { type: 'witness' }>): void {
    const { round } = this.slotIn(clientId, msg.step, 'witness');
    const bad = bitmapError(msg.held, round.slots.length);
    if (bad !== null) throw new MessageError('bad-message', `held: ${bad}`);
    const content = { runId: this.rm.runId, step: msg.step, held: hexToBytes(msg.held), checksum: hexToBytes(msg.checksum), scores: msg.scores };
    if (!verifyWitness(content, hexToBytes(msg.signature), hexToBytes(clientId))) {
      throw new MessageError('bad-signature', `the witness signature does not verify for this client, run and step ${msg.step}`);
    }
    refuseIfRejected(this.coordinator.witness(clientId, msg.step, msg.held, msg.checksum, msg.scores));
  }

  /** A client that left takes its half-done commit with it. */
  forget(clientId: string): void {
    this.pending.delete(clientId);
  }

  private pendingFor(clientId: string, header: RelayPutHeader): PendingCommit {
    const pending = this.pending.get(clientId);
    if (pending === undefined || pending.step !== header.step || pending.hash !== header.hash) {
      throw new MessageError('no-commitment', `no verified commit of yours for hash ${header.hash} in round ${header.step}; send commit first`);
    }
    return pending;
  }

  private keep(clientId: string, pending: PendingCommit, payload: Uint8Array, assignment: Assignment): void {
    checkPayload(payload, pending.hash, this.rm, pending.step, assignment, pending.count);
    this.store.putPayload(pending.hash, pending.step, clientId, payload, this.coordinator.now());
    this.accept(clientId, pending);
  }

  private updateBytes(a: Assignment, count: number): number {
    const { shapes, chunk, topk, quantize1bit } = this.rm.expected;
    return encodedUpdateBytes(shapes, { chunk, topk, quantize1bit }, count, unitSizeFor(a.count));
  }

  private accept(clientId: string, c: PendingCommit): void {
    this.pending.delete(clientId);
    const overlap = this.copies.check(c.step, c.hash);
    refuseIfRejected(this.coordinator.commit(clientId, c.step, c.hash, c.signature, overlap, c.stats, c.count));
  }

  /** The round that trains or is witnessed now and the client's slot in it, if `step` is that round's step. */
  private slotIn(clientId: string, step: number, stage: 'train' | 'witness'): { round: Round; slot: number } {
    const s = this.coordinator.state;
    const round = stage === 'train' ? (s.phase === 'RoundTrain' ? s.round : null) : witnessRound(s);
    if (round === null) throw new MessageError('wrong-phase', `no round is in its ${stage} stage; the run is in ${s.phase}`);
    if (step !== round.step) throw new MessageError('stale-step', `step ${step} is not the step ${round.step} in its ${stage} stage`);
    const slot = round.slots.indexOf(clientId);
    if (slot < 0 || s.clients[clientId]?.status !== 'member') throw new MessageError('not-in-round', `you are not a member of round ${step}`);
    return { round, slot };
  }
}

function refuseIfRejected(outcome: Outcome): void {
  if (outcome.rejected !== null) throw new MessageError('rejected', outcome.rejected);
}

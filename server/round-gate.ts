/**
 * The checks between a client's round messages and the state machine's
 * events. A commit becomes a `commit` event only once it is signed by its
 * author for this run and step AND the server holds the payload it commits
 * to (uploaded with relayPut, then checked by checkPayload): the server
 * replays every agreed payload into checkpoints and serves it to joining
 * clients, so an agreed update whose bytes the server lacks must not exist.
 *
 * Client flow per round: `commit {step, hash, signature, stats?}`, then the binary
 * `relayPut {step, hash}` + bytes; the server answers `ack {of: 'commit'}`
 * once both are in. The commit must come first: a relayPut without a
 * verified commit is refused (the server stores no bytes nobody signed).
 * A commit whose payload this client already uploaded for this step is
 * accepted at once (a commit retried after a reconnect).
 * Every refusal is a MessageError.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { MessageError, type ClientMessage, type CommitStats, type RelayPutHeader } from '../src/net/messages';
import { verifyWitness } from '../src/net/witness-signature';
import { verifyCommitment } from '../src/protocol/commitment';
import { bitmapError } from '../src/run/bitmap';
import { witnessRound } from '../src/run/state-machine';
import type { Round } from '../src/run/types';
import type { Coordinator, Outcome } from './coordinator';
import { CopyCheck } from './copy-check';
import { checkPayload } from './payload-check';
import type { RunModel } from './run-model';
import type { Store } from './store';

interface PendingCommit {
  step: number;
  hash: string;
  signature: string;
  /** Display data the client reported with its commit (stored beside it, never judged). */
  stats?: CommitStats;
}

export type CommitResult = 'accepted' | 'awaiting-payload';

export class RoundGate {
  /** Verified commits whose payload has not arrived yet, per client. */
  private readonly pending = new Map<string, PendingCommit>();
  private readonly copies: CopyCheck;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly store: Store,
    private readonly rm: RunModel,
  ) {
    this.copies = new CopyCheck(store, rm);
  }

  commit(clientId: string, msg: Extract<ClientMessage, { type: 'commit' }>): CommitResult {
    const { round, slot } = this.slotIn(clientId, msg.step, 'train');
    if (round.commitments[slot] !== null) throw new MessageError('already-committed', `already committed in round ${round.step}`);
    const ok = verifyCommitment(hexToBytes(msg.hash), hexToBytes(msg.signature), hexToBytes(clientId), { runId: this.rm.runId, step: msg.step });
    if (!ok) throw new MessageError('bad-signature', `the commit signature does not verify for this client, run and step ${msg.step}`);
    // Only the client's own upload for this step counts (a retried commit after a reconnect):
    // a copy of someone else's hash must come with bytes that pass checkPayload for its own slot.
    const origin = this.store.payloadOrigin(msg.hash);
    if (origin !== null && origin.clientId === clientId && origin.step === msg.step) {
      this.accept(clientId, { step: msg.step, hash: msg.hash, signature: msg.signature, stats: msg.stats });
      return 'accepted';
    }
    this.pending.set(clientId, { step: msg.step, hash: msg.hash, signature: msg.signature, stats: msg.stats });
    return 'awaiting-payload';
  }

  relayPut(clientId: string, header: RelayPutHeader, payload: Uint8Array): void {
    const { round, slot } = this.slotIn(clientId, header.step, 'train');
    const pending = this.pending.get(clientId);
    if (pending === undefined || pending.step !== header.step || pending.hash !== header.hash) {
      throw new MessageError('no-commitment', `no verified commit of yours for hash ${header.hash} in round ${header.step}; send commit first`);
    }
    checkPayload(payload, header.hash, this.rm, header.step, round.assignments[slot]);
    this.store.putPayload(header.hash, header.step, clientId, payload, this.coordinator.now());
    this.accept(clientId, pending);
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

  private accept(clientId: string, c: PendingCommit): void {
    this.pending.delete(clientId);
    const overlap = this.copies.check(c.step, c.hash);
    refuseIfRejected(this.coordinator.commit(clientId, c.step, c.hash, c.signature, overlap, c.stats));
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

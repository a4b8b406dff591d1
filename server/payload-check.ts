/**
 * What the coordinator checks about an uploaded update before it counts as
 * committed: the bytes are the committed ones, they decode strictly for this
 * run's model, and their header names this run, this step, the data range
 * the round assigned to the author (cut at the count its commit names) and
 * the proof units of that assignment. The server later replays these bytes
 * into checkpoints, so it must never store one that will not decode.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { MessageError } from '../src/net/messages';
import { decodeUpdate, unitSizeFor, UpdateDecodeError } from '../src/protocol/update-codec';
import type { Assignment } from '../src/run/types';
import type { RunModel } from './run-model';

/** `count`: the sequences its commit says it trained from the assignment's start (the whole assignment unless time-boxed). */
export function checkPayload(bytes: Uint8Array, hash: string, rm: RunModel, step: number, assignment: Assignment, count = assignment.count): void {
  const actual = bytesToHex(sha256(bytes));
  if (actual !== hash) throw new MessageError('hash-mismatch', `payload SHA-256 is ${actual}, the commitment says ${hash}`);
  let update;
  try {
    update = decodeUpdate(bytes, rm.expected);
  } catch (e) {
    if (e instanceof UpdateDecodeError) throw new MessageError('bad-payload', `payload does not decode: ${e.message}`);
    throw e;
  }
  if (!update.runId.every((b, i) => b === rm.runId[i])) throw new MessageError('bad-payload', 'payload is for another run');
  if (update.step !== step) throw new MessageError('bad-payload', `payload is for step ${update.step}, the round is step ${step}`);
  if (update.batchStart !== assignment.start || update.batchCount !== count) {
    throw new MessageError(
      'bad-payload',
      `payload trained on sequences [${update.batchStart}, +${update.batchCount}), the commit says [${assignment.start}, +${count}) of the assigned [${assignment.start}, +${assignment.count})`,
    );
  }
  // Units laid out over the assignment: an author may not choose fewer, larger ones (costlier checks, fewer chances to be caught).
  if (update.unitSize !== unitSizeFor(assignment.count)) {
    throw new MessageError('bad-payload', `payload proofs are in units of ${update.unitSize} sequences; an assignment of ${assignment.count} has units of ${unitSizeFor(assignment.count)}`);
  }
}

/**
 * Whether a tab may join from its resume record (src/train/resume-store.ts)
 * rather than from the epoch checkpoint. The record says which round it
 * applied last, from which checksum, with which updates; the coordinator's
 * agreed history says what that round really was. Parameters that hash to
 * their own record (the worker checks that) and followed the agreed round
 * from the agreed checksum are the agreed parameters of the next step, so
 * the tab can replay from there without any download of the model.
 */
import type { BundleRound } from '../net/update-bundle';

export interface ResumedLine {
  step: number;
  prevChecksum: string;
  lastHashes: readonly string[];
}

/** Why the record does not follow the agreed history (null: it does), given the coordinator's round `step − 1`. */
export function resumeMismatch(resumed: ResumedLine, round: BundleRound | undefined): string | null {
  const last = resumed.step - 1;
  if (round === undefined || round.step !== last) return `the coordinator has no agreed round ${last} (its run may have been reset)`;
  if (round.checksum === null) return `nobody witnessed round ${last}, so its checksum cannot confirm the stored parameters`;
  if (round.checksum !== resumed.prevChecksum) return `round ${last} was agreed from checksum ${round.checksum}, the stored parameters came from ${resumed.prevChecksum}`;
  const same = round.hashes.length === resumed.lastHashes.length && round.hashes.every((h, i) => h === resumed.lastHashes[i]);
  if (!same) return `round ${last}'s agreed updates are not the ones the stored parameters applied`;
  return null;
}

/**
 * Which tabs upload an epoch checkpoint (server/checkpoint-uploads.ts takes
 * the first whose checksum is agreed): the first CHECKPOINT_UPLOADERS
 * members past probation without a strike, in join order, or, while nobody
 * is past probation, the first members. Two, so one tab closing at the epoch
 * end does not lose the checkpoint, and not all, so a hundred tabs do not
 * each send the whole model.
 */
import type { RunConfig } from '../run/run-config';
import type { ClientId, RunState } from '../run/types';
import { onProbation } from '../run/verification';

export const CHECKPOINT_UPLOADERS = 2;

export function checkpointUploaders(config: RunConfig, s: RunState): ClientId[] {
  const members = Object.values(s.clients)
    .filter((c) => c.status === 'member')
    .sort((a, b) => a.joinSeq - b.joinSeq);
  const trusted = members.filter((c) => !onProbation(config, c) && c.strikes === 0);
  return (trusted.length > 0 ? trusted : members).slice(0, CHECKPOINT_UPLOADERS).map((c) => c.id);
}

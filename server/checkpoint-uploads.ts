/**
 * Epoch checkpoints made by clients (docs/run.md "Checkpoints"). At an epoch
 * end the store holds a placeholder for the checkpoint of step S (the
 * parameters before round S). Members past probation upload their
 * parameters as safetensors (`PUT /api/checkpoint/S`, signed, gzip); the
 * coordinator checks each upload on its bytes: it must parse as this run's
 * model, and its checksum, computed here a slice at a time so the event loop
 * keeps ticking, must equal the checksum round S's witnesses agree on. That
 * checksum is known when round S ends, so uploads wait for it; the first
 * matching one (in arrival order) becomes the checkpoint, every other one is
 * rejected and logged. No replay of the epoch's updates, on any CPU.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { checksumHex, paramChecksumCpuSliced } from '../src/kernels/checksum/checksum-cpu';
import { importCheckpoint } from '../src/model/checkpoint';
import { verifyCheckpoint } from '../src/protocol/commitment';
import type { RunState } from '../src/run/types';
import { onProbation } from '../src/run/verification';
import type { RunConfig } from '../src/run/run-config';
import { HttpError } from './api';
import type { Logger } from './log';
import type { RunModel } from './run-model';
import type { Store } from './store';

/** Held uploads per step: the uploaders a client rule names, with room for a few more. */
export const MAX_HELD_UPLOADS = 8;

interface Held {
  clientId: string;
  checksum: string;
  bytes: Uint8Array;
}

export interface CheckpointOffer {
  step: number;
  clientId: string;
  /** ed25519 over the checkpoint tag, run id, step and SHA-256 of `bytes` (src/protocol/commitment.ts signCheckpoint). */
  signature: Uint8Array;
  /** The safetensors bytes, decompressed. */
  bytes: Uint8Array;
}

export type OfferResult = { status: 'held' } | { status: 'accepted'; checksum: string };

export class CheckpointUploads {
  private readonly held = new Map<number, Held[]>();
  /** Steps whose upload is being checked, per client, so a client cannot offer twice at once. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly config: RunConfig,
    private readonly rm: RunModel,
    private readonly store: Store,
    private readonly state: () => RunState,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Checks an upload; throws HttpError (logged by the HTTP server) for one that is refused outright. */
  async offer(o: CheckpointOffer): Promise<OfferResult> {
    const pending = this.store.pendingCheckpoints().find((p) => p.step === o.step);
    if (pending === undefined) {
      const wanted = this.store.pendingCheckpoints().map((p) => p.step);
      throw new HttpError(409, 'stale-checkpoint', `no checkpoint is wanted for step ${o.step} (wanted: ${wanted.length > 0 ? wanted.join(', ') : 'none'})`);
    }
    this.checkUploader(o.clientId);
    if (!verifyCheckpoint(o.bytes, o.signature, hexToBytes(o.clientId), { runId: this.rm.runId, step: o.step })) {
      throw new HttpError(403, 'bad-signature', `the signature does not sign these bytes as ${o.clientId.slice(0, 12)}'s checkpoint of step ${o.step}`);
    }
    const key = `${o.step}:${o.clientId}`;
    const held = this.held.get(o.step) ?? [];
    if (this.busy.has(key) || held.some((h) => h.clientId === o.clientId)) throw new HttpError(409, 'duplicate-checkpoint', `already have an upload of step ${o.step} from this client`);
    if (held.length >= MAX_HELD_UPLOADS) throw new HttpError(429, 'enough-checkpoints', `${MAX_HELD_UPLOADS} uploads of step ${o.step} are waiting already`);
    this.busy.add(key);
    let checksum: string;
    try {
      checksum = await this.checksumOf(o.bytes);
    } finally {
      this.busy.delete(key);
    }
    // The store may have moved on while the checksum was computed.
    if (!this.store.pendingCheckpoints().some((p) => p.step === o.step)) throw new HttpError(409, 'stale-checkpoint', `the checkpoint of step ${o.step} was settled meanwhile`);
    const list = this.held.get(o.step) ?? [];
    list.push({ clientId: o.clientId, checksum, bytes: o.bytes });
    this.held.set(o.step, list);
    this.log('checkpoint-offered', { step: o.step, from: o.clientId, checksum, bytes: o.bytes.length });
    const agreed = this.store.agreedChecksum(o.step);
    if (agreed !== null) this.decide(o.step, agreed);
    return this.store.latestCheckpoint()?.step === o.step && agreed === checksum ? { status: 'accepted', checksum } : { status: 'held' };
  }

  /** Round `step` ended with `checksum` agreed: the held uploads of that step are settled. */
  onAgreed(step: number, checksum: string | null): void {
    if (checksum !== null && this.held.has(step)) this.decide(step, checksum);
  }

  private decide(step: number, agreed: string): void {
    const pending = this.store.pendingCheckpoints().find((p) => p.step === step);
    const held = this.held.get(step) ?? [];
    this.held.delete(step);
    if (pending === undefined) return;
    const match = held.find((h) => h.checksum === agreed);
    for (const h of held) {
      if (h === match) continue;
      const reason = h.checksum === agreed ? 'another upload was accepted first' : `its checksum ${h.checksum} is not the agreed ${agreed}`;
      this.log('checkpoint-rejected', { step, from: h.clientId, reason });
    }
    if (match === undefined) return;
    this.store.putCheckpoint({ epoch: pending.epoch, step, checksum: agreed, bytes: match.bytes }, this.now());
    this.log('checkpoint-accepted', { epoch: pending.epoch, step, checksum: agreed, from: match.clientId, bytes: match.bytes.length });
  }

  /** Members past probation upload; while nobody is past it (a young run), any member. */
  private checkUploader(clientId: string): void {
    const s = this.state();
    const c = s.clients[clientId];
    if (c === undefined || c.status !== 'member') throw new HttpError(403, 'not-a-member', 'only members of the run upload checkpoints');
    const established = Object.values(s.clients).some((x) => x.status === 'member' && !onProbation(this.config, x));
    if (established && onProbation(this.config, c)) throw new HttpError(403, 'on-probation', 'members on probation do not upload checkpoints');
  }

  /** The GPU checksum of the upload's parameters in the flat layout; throws 400 for bytes that are not this run's model. */
  private async checksumOf(bytes: Uint8Array): Promise<string> {
    let params: Map<string, Float32Array>;
    try {
      params = importCheckpoint(bytes, this.rm.model).params;
    } catch (e) {
      throw new HttpError(400, 'bad-checkpoint', `not a checkpoint of this run's model: ${(e as Error).message}`);
    }
    const flat = new Float32Array(this.rm.layout.totalFloats);
    for (const slot of this.rm.layout.slots) flat.set(params.get(slot.name) as Float32Array, slot.offset);
    return checksumHex(await paramChecksumCpuSliced(flat));
  }
}

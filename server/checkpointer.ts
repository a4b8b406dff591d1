/**
 * The coordinator makes every checkpoint itself, on the CPU, trusting no
 * client (docs/run.md "Checkpoints and catch-up"): epoch 0 is initParams of
 * the run's seed; each later one is the previous checkpoint with the stored
 * agreed updates applied round by round through demoApplyExact, the exact
 * integer decode whose bits every client's GPU must reproduce. Its checksum
 * is the one a client reports after applying the same rounds.
 */
import { checksumHex, paramChecksumCpu } from '../src/kernels/checksum/checksum-cpu';
import { demoApplyExact } from '../src/demo/integer-decode';
import { exportCheckpoint, importCheckpoint } from '../src/model/checkpoint';
import { initParams } from '../src/model/init';
import { decodeUpdate } from '../src/protocol/update-codec';
import type { RunConfig } from '../src/run/run-config';
import type { Logger } from './log';
import { lrFromBits, runModel, type RunModel } from './run-model';
import type { Store } from './store';

export class CheckpointBuildError extends Error {
  override name = 'CheckpointBuildError';
}

export interface Checkpoint {
  bytes: Uint8Array;
  /** paramChecksumCpu over the flat GPU layout (gaps zero), 16 hex. */
  checksum: string;
}

/** One agreed round as the replay needs it: η's bits and the agreed payloads in slot order. */
export interface AgreedRound {
  step: number;
  lrBits: number;
  payloads: Uint8Array[];
}

/** The checksum a client computes on its GPU buffer: tensors at their layout offsets, zeros between. */
export function paramsChecksum(rm: RunModel, params: Map<string, Float32Array>): string {
  const flat = new Float32Array(rm.layout.totalFloats);
  for (const slot of rm.layout.slots) flat.set(params.get(slot.name) as Float32Array, slot.offset);
  return checksumHex(paramChecksumCpu(flat));
}

function toCheckpoint(rm: RunModel, params: Map<string, Float32Array>): Checkpoint {
  return { bytes: exportCheckpoint(rm.model, params).safetensors, checksum: paramsChecksum(rm, params) };
}

export function initialCheckpoint(config: RunConfig, rm: RunModel = runModel(config)): Checkpoint {
  return toCheckpoint(rm, initParams(rm.model, config.initSeed));
}

/** `base` with `rounds` applied in order (an empty round still applies weight decay, as clients do). */
export function replayRounds(config: RunConfig, base: Uint8Array, rounds: readonly AgreedRound[], rm: RunModel = runModel(config)): Checkpoint {
  const { params } = importCheckpoint(base, rm.model);
  for (const round of rounds) applyRound(config, rm, params, round);
  return toCheckpoint(rm, params);
}

function applyRound(config: RunConfig, rm: RunModel, params: Map<string, Float32Array>, round: AgreedRound): void {
  const updates = round.payloads.map((bytes, i) => {
    const u = decodeUpdate(bytes, rm.expected);
    const sameRun = u.runId.every((b, j) => b === rm.runId[j]);
    if (!sameRun || u.step !== round.step) {
      throw new CheckpointBuildError(`round ${round.step}: payload ${i} is for step ${u.step}${sameRun ? '' : ' of another run'}`);
    }
    return u;
  });
  const lr = lrFromBits(round.lrBits);
  rm.specs.forEach((spec, t) => {
    const param = params.get(spec.name) as Float32Array;
    const perTensor = updates.map((u) => ({ indices: u.tensors[t].indices, values: Float64Array.from(u.tensors[t].values) }));
    params.set(
      spec.name,
      demoApplyExact({ param, shape: spec.shape, updates: perTensor, lr, chunk: config.optimizer.chunk, topk: config.optimizer.topk, weightDecay: config.optimizer.weightDecay }),
    );
  });
}

/**
 * Builds every checkpoint whose epoch end the store recorded but that is not
 * built yet (applyStep writes the placeholder in the same transaction as the
 * state, so a crash between the two is finished here at the next start).
 * A checkpoint that cannot be built (a payload or an agreed set missing) is
 * logged and left pending; clients then catch up from the previous one.
 */
export function buildPendingCheckpoints(store: Store, config: RunConfig, log: Logger, now: () => number): void {
  const rm = runModel(config);
  for (const target of store.pendingCheckpoints()) {
    try {
      const built = buildCheckpoint(store, config, rm, target.step);
      store.putCheckpoint({ epoch: target.epoch, step: target.step, ...built }, now());
      log('checkpoint-built', { epoch: target.epoch, step: target.step, checksum: built.checksum, bytes: built.bytes.length });
    } catch (e) {
      log('checkpoint-failed', { epoch: target.epoch, step: target.step, error: (e as Error).message });
    }
  }
}

function buildCheckpoint(store: Store, config: RunConfig, rm: RunModel, step: number): Checkpoint {
  const base = store.checkpointAtOrBefore(step);
  if (base === null) throw new CheckpointBuildError(`no built checkpoint at or before step ${step}`);
  const rows = store.agreedRange(base.step, step);
  const rounds = rows.map((row, i): AgreedRound => {
    if (row.step !== base.step + i) throw new CheckpointBuildError(`the agreed set of step ${base.step + i} is missing`);
    const payloads = row.hashes.map((hash) => {
      const bytes = store.getPayload(hash);
      if (bytes === null) throw new CheckpointBuildError(`step ${row.step}: payload ${hash} is missing`);
      return bytes;
    });
    return { step: row.step, lrBits: row.lrBits, payloads };
  });
  if (rounds.length !== step - base.step) throw new CheckpointBuildError(`agreed sets end at step ${base.step + rounds.length}, before ${step}`);
  return replayRounds(config, base.bytes, rounds, rm);
}

/**
 * Checkpoints on the CPU (docs/run.md "Checkpoints and catch-up"): epoch 0
 * is initParams of the run's seed, with the checksum a client's GPU computes
 * for it. Later epochs come from the members (checkpoint-uploads.ts);
 * replayRounds, the previous checkpoint with agreed rounds applied through
 * demoApplyExact (the exact integer decode every GPU must reproduce), stays
 * as the audit of that: the tests check uploads and GPU replicas against it.
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

/**
 * DeMo's share of a round at realistic work per tab (docs/design.md §13). DeMo
 * costs per parameter per round while training costs per token, so a share
 * measured on a toy batch says nothing: this times the three parts of a
 * round separately on the real model and projects them to `roundTokens`.
 *
 * - forward + backward: DemoReplica.computeUpdate on `sequences` sequences of
 *   `seqLen` tokens, in micro-batches of `microBatch`, per token. At a fixed
 *   sequence length that cost is linear in tokens, so a slow adapter may time
 *   fewer sequences than a round holds; a fast one times the whole round.
 * - encode: the same call's clip + compress + readback + encodeUpdate, which
 *   does not depend on the tokens.
 * - decode: DemoReplica.applyAgreed of `updates` agreed updates (the round's
 *   tabs), random valid ones of the real shapes: apply's work depends on how
 *   many coefficients arrive, not on their values.
 *
 * share = (encode + decode) / (roundTokens · msPerToken + encode + decode).
 */
import { Gpu } from '../src/gpu/gpu';
import { getPreset } from '../src/model/config';
import { GpuModel, type TokenBatch } from '../src/model/gpu-model';
import { encodeUpdate, proofUnits } from '../src/protocol/update-codec';
import { randomUpdate } from '../src/protocol/test-helpers';
import { DemoReplica, randomRunId } from '../src/train/demo-trainer';
import { mulberry32 } from '../src/kernels/testing/random';
import { unitRange } from '../src/verify/sequence-proof';
import { median } from './timing';

export interface DemoShareSpec {
  preset: string;
  seqLen: number;
  /** Sequences trained in each timed step. */
  sequences: number;
  /** Sequences per forward/backward. */
  microBatch: number;
  /** Tokens a tab trains per round: the share is projected to this. */
  roundTokens: number;
  /** Agreed updates applied per round (one per tab). */
  updates: number;
  /** Timed steps. */
  steps: number;
  /**
   * Untimed full steps first (default 1). Forward + backward's pipelines are
   * always compiled first on one sequence; compress's and apply's only by a
   * full step, which is worth skipping where one step takes many minutes
   * (bpe-100m on SwiftShader) and their compilation is lost in the noise.
   */
  warmupSteps?: number;
}

export interface DemoShareResult {
  spec: DemoShareSpec;
  adapter: string;
  parameters: number;
  /**
   * The largest forward/backward that ran: a micro-batch never crosses a
   * proof unit, so timing fewer sequences than a round holds can make it
   * smaller than spec.microBatch.
   */
  effectiveMicroBatch: number;
  /** Tokens of each timed step: sequences · seqLen. */
  measuredTokens: number;
  /** Medians over the timed steps. */
  forwardBackwardMs: number;
  encodeMs: number;
  decodeMs: number;
  msPerToken: number;
  /** Forward + backward only (the training worker's tokens/s before DeMo). */
  trainTokensPerSec: number;
  /** At roundTokens: sequences of seqLen, rounded up. */
  roundSequences: number;
  roundForwardBackwardMs: number;
  /** Tokens/s of a whole round: forward + backward + encode + decode. */
  roundTokensPerSec: number;
  share: number;
  bytesPerUpdate: number;
  denseGradientBytes: number;
  loss: number;
  /** Every step's numbers, the warm-up steps first. */
  raw: { forwardBackwardMs: number[]; encodeMs: number[]; decodeMs: number[] };
  /** Wall time of the whole measurement, model creation included. */
  wallMs: number;
}

/** Stand-in text: speed does not depend on which tokens are trained. */
function syntheticBatch(vocab: number, sequences: number, seqLen: number, seed: number): TokenBatch {
  const rand = mulberry32(seed);
  const stream = Int32Array.from({ length: sequences * seqLen + 1 }, () => Math.floor(rand() * vocab));
  return { inputIds: stream.slice(0, -1), targets: stream.slice(1), batch: sequences, seqLen };
}

function largestMicroBatch(sequences: number, microBatch: number): number {
  const units = Array.from({ length: proofUnits(sequences) }, (_, u) => unitRange(sequences, u).count);
  return Math.min(microBatch, Math.max(...units));
}

/** `updates` random valid updates of the replica's shapes, each drawn on its own as different tabs' would be. */
function agreedUpdates(replica: DemoReplica, updates: number): Uint8Array[] {
  const { shapes, chunk, topk } = replica.expectedUpdate;
  const mode = { chunk, topk, quantize1bit: replica.settings.quantize1bit };
  return Array.from({ length: updates }, (_, i) => encodeUpdate(randomUpdate(shapes, chunk, topk, mode.quantize1bit, i + 1), mode));
}

/** One untimed forward + backward, so that the first timed one does not include compiling its pipelines. */
async function warmForwardBackward(gpu: Gpu, model: GpuModel, batch: TokenBatch): Promise<void> {
  const rec = gpu.encoder('bench.warmup');
  model.recordStep(rec, batch, 'grads');
  rec.submit();
  await gpu.idle();
}

export interface DemoShareHooks {
  /** Called once after the last timed step, with the replica still alive (the memory check reads allocations here). */
  afterRound?: (replica: DemoReplica) => Promise<void> | void;
  log?: (line: string) => void;
}

export async function benchDemoShare(gpu: Gpu, spec: DemoShareSpec, hooks: DemoShareHooks = {}): Promise<DemoShareResult> {
  const t0 = performance.now();
  const log = hooks.log ?? (() => {});
  if ((spec.warmupSteps ?? 1) + spec.steps < 1) throw new RangeError(`${spec.preset}: a DeMo share needs at least one step`);
  const config = getPreset(spec.preset);
  const replica = new DemoReplica(GpuModel.create(gpu, config, 1));
  try {
    replica.microBatch = spec.microBatch;
    const updates = agreedUpdates(replica, spec.updates);
    const raw = { forwardBackwardMs: [] as number[], encodeMs: [] as number[], decodeMs: [] as number[] };
    let bytesPerUpdate = 0;
    let loss = NaN;
    await warmForwardBackward(gpu, replica.model, syntheticBatch(config.vocab_size, 1, spec.seqLen, 0));
    const warmup = spec.warmupSteps ?? 1;
    for (let step = 0; step < warmup + spec.steps; step++) {
      const batch = syntheticBatch(config.vocab_size, spec.sequences, spec.seqLen, step + 1);
      const header = { runId: randomRunId(), step: step + 1, batchStart: step * spec.sequences, batchCount: spec.sequences };
      const u = await replica.computeUpdate(batch, 1e-3, header);
      const applied = await replica.applyAgreed(updates, 1e-3, 0.1);
      raw.forwardBackwardMs.push(u.forwardBackwardMs);
      raw.encodeMs.push(u.encodeMs);
      raw.decodeMs.push(applied.decodeMs);
      bytesPerUpdate = u.bytes.length;
      loss = u.loss;
      log(`${spec.preset} step ${step}${step < warmup ? ' (warm-up)' : ''}: fwd+bwd ${u.forwardBackwardMs.toFixed(0)} ms, encode ${u.encodeMs.toFixed(0)} ms, decode ${applied.decodeMs.toFixed(0)} ms`);
    }
    await hooks.afterRound?.(replica);
    return summarize(spec, gpu, replica, raw, { bytesPerUpdate, loss, wallMs: performance.now() - t0 });
  } finally {
    replica.dispose();
    replica.model.dispose();
  }
}

function summarize(
  spec: DemoShareSpec,
  gpu: Gpu,
  replica: DemoReplica,
  raw: DemoShareResult['raw'],
  extra: Pick<DemoShareResult, 'bytesPerUpdate' | 'loss' | 'wallMs'>,
): DemoShareResult {
  const warmup = spec.warmupSteps ?? 1;
  // With no timed step (steps 0) the warm-up is all there is.
  const timed = (xs: number[]) => median(xs.length > warmup ? xs.slice(warmup) : xs) ?? NaN;
  const forwardBackwardMs = timed(raw.forwardBackwardMs);
  const encodeMs = timed(raw.encodeMs);
  const decodeMs = timed(raw.decodeMs);
  const measuredTokens = spec.sequences * spec.seqLen;
  const msPerToken = forwardBackwardMs / measuredTokens;
  const roundSequences = Math.ceil(spec.roundTokens / spec.seqLen);
  const roundForwardBackwardMs = roundSequences * spec.seqLen * msPerToken;
  const roundMs = roundForwardBackwardMs + encodeMs + decodeMs;
  return {
    spec,
    adapter: `${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`.trim(),
    parameters: replica.model.parameterCount,
    effectiveMicroBatch: largestMicroBatch(spec.sequences, spec.microBatch),
    measuredTokens,
    forwardBackwardMs,
    encodeMs,
    decodeMs,
    msPerToken,
    trainTokensPerSec: 1000 / msPerToken,
    roundSequences,
    roundForwardBackwardMs,
    roundTokensPerSec: (roundSequences * spec.seqLen * 1000) / roundMs,
    share: (encodeMs + decodeMs) / roundMs,
    denseGradientBytes: replica.denseGradientBytes,
    raw,
    ...extra,
  };
}

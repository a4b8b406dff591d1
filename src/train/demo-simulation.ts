/**
 * DeMo with N replicas in one tab, exchanging real wire bytes: each trains on
 * its own slice of the data, every replica applies the whole agreed set (in a
 * different order each) and the parameter checksums must agree every step.
 * `simulateAdamW` is the equal-tokens baseline: one replica, N× the batch.
 */
import { openShardLoader, type ShardLoader } from '../data/loader';
import { Gpu } from '../gpu/gpu';
import { getPreset } from '../model/config';
import { GpuModel } from '../model/gpu-model';
import { initParams } from '../model/init';
import { AdamWTrainer, DEFAULT_ADAMW } from './adamw-trainer';
import { DEFAULT_DEMO, DemoReplica, randomRunId } from './demo-trainer';
import { scheduledLearningRate, type ScheduleName } from './schedule';
import { decodeUpdate, proofBytes, proofUnits } from '../protocol/update-codec';
import { parseRunConfig } from '../run/run-config';
import { agreementScoreOfKeys } from '../verify/agreement-score';
import { updateKeys } from '../verify/overlap';
import { referenceSlots } from '../verify/references';
import { claimedSketch, proofErrorPermille, updateUnit } from '../verify/sequence-proof';

export interface DemoSimulationSpec {
  preset: string;
  replicas: number;
  batchPerReplica: number;
  seqLen: number;
  steps: number;
  /** Peak learning rate. */
  lr: number;
  /** Learning-rate schedule over `steps` (default constant, no warmup). */
  schedule?: ScheduleName;
  warmupSteps?: number;
  chunk?: number;
  topk?: number;
  weightDecay?: number;
  /** Shard directory under data/ (default: austen-byte for byte vocabularies, else austen-gpt2). */
  dataset?: string;
  /** initParams seed, shared by every replica. */
  seed?: number;
  /**
   * Rounds of staleness (0 or 1, default 0). With 1, as pipelined tabs train (src/run/state-machine.ts Round.base):
   * step t's gradients are taken before step t−1's agreed set is applied, i.e. on the parameters after steps [0, t−1).
   */
  delay?: number;
}

export interface DemoStepRecord {
  step: number;
  /** Mean of the replicas' losses on their own batches. */
  loss: number;
  /**
   * Each replica's parameters after this step's apply. With delay 1 that is step−1's set (step 0 applies none and
   * records the initial parameters; the last step applies its own set too, as the run's last round is witnessed alone).
   */
  checksums: string[];
  checksumsAgree: boolean;
}

export interface DemoSimulationResult {
  spec: Required<DemoSimulationSpec>;
  parameters: number;
  steps: DemoStepRecord[];
  losses: number[];
  allChecksumsAgree: boolean;
  /** Encoded update of one replica for one step, its proofs included (every update of the simulation has the same size). */
  bytesPerUpdate: number;
  /** Of bytesPerUpdate, the proofs (src/verify/sequence-proof.ts): verification's, not DeMo's. */
  proofBytesPerUpdate: number;
  denseGradientBytes: number;
  /** denseGradientBytes over the DeMo update (bytesPerUpdate − proofBytesPerUpdate): what DeMo's compression achieves. */
  compressionRatio: number;
  /** denseGradientBytes / bytesPerUpdate: with the proofs, what a tab sends. */
  payloadRatio: number;
  /** Per replica per step, summed over the run then divided by replicas·steps. */
  forwardBackwardMs: number;
  encodeMs: number;
  /** Decoding and applying all N updates, per replica per step. */
  decodeMs: number;
  /** (encode + decode) / (forward + backward + encode + decode). */
  encodeDecodeShare: number;
  /**
   * One verifier check: the agreement score (src/verify/agreement-score.ts: the round's updates decoded once per verifier,
   * each candidate merged with up to `references` of them, mean over every replica scoring every other one) and the
   * recomputation of one sequence's proof (src/verify/sequence-proof.ts: each replica recomputes one of the next replica's).
   */
  verifyMsPerCheck: number;
  /** Of verifyMsPerCheck, the recomputation. */
  recomputeMsPerCheck: number;
  /** The largest relative error (per-mille) of a recomputed proof: honest replicas on one adapter. */
  maxProofErrorPermille: number;
  /** VERIFIERS_PER_CHECK checks (a member's load when every update is checked, as on probation) over a step's fwd+bwd+encode+decode. */
  verifyShare: number;
  /** The same past probation, at the default sample rate as the run caps it (src/run/verification.ts checkRate). */
  verifySteadyShare: number;
}

const DEFAULT_VERIFICATION = parseRunConfig({}).verification;
/** The run's default committee size (verification.verifiers): with every update checked, each member scores about this many. */
export const VERIFIERS_PER_CHECK = DEFAULT_VERIFICATION.verifiers;

/** The default sample rate past probation for N members of B sequences each, as the run caps it. */
function steadyRate(N: number, B: number): number {
  const { sampleRate, maxRecomputeShare } = DEFAULT_VERIFICATION;
  return Math.min(sampleRate, (maxRecomputeShare * B) / VERIFIERS_PER_CHECK);
}

export interface AdamWSimulationSpec {
  preset: string;
  /** Sequences per step: N·B for the equal-tokens comparison. */
  batch: number;
  seqLen: number;
  steps: number;
  lr: number;
  schedule?: ScheduleName;
  warmupSteps?: number;
  weightDecay?: number;
  dataset?: string;
  seed?: number;
}

export interface AdamWSimulationResult {
  spec: Required<AdamWSimulationSpec>;
  losses: number[];
}

function withDefaults(spec: DemoSimulationSpec): Required<DemoSimulationSpec> {
  const config = getPreset(spec.preset);
  // `??` rather than a spread: an explicit undefined (an unset bench flag) means the default.
  return {
    ...spec,
    schedule: spec.schedule ?? 'constant',
    warmupSteps: spec.warmupSteps ?? 0,
    chunk: spec.chunk ?? DEFAULT_DEMO.chunk,
    topk: spec.topk ?? DEFAULT_DEMO.topk,
    weightDecay: spec.weightDecay ?? 0,
    dataset: spec.dataset ?? defaultDataset(config.vocab_size),
    seed: spec.seed ?? 1,
    delay: spec.delay ?? 0,
  };
}

/** The same η sequence for DeMo and AdamW: wsd decays over the last 20 % to 10 % of the peak. */
function lrAt(spec: { lr: number; schedule: ScheduleName; warmupSteps: number; steps: number }, step: number): number {
  const schedule = { schedule: spec.schedule, peak: spec.lr, warmupSteps: spec.warmupSteps, decayFraction: 0.2, minFactor: 0.1 };
  return scheduledLearningRate(schedule, spec.steps, step);
}

function defaultDataset(vocab: number): string {
  return vocab === 256 ? 'austen-byte' : 'austen-gpt2';
}

async function openLoader(dataset: string, vocab: number): Promise<ShardLoader> {
  const loader = await openShardLoader({ baseUrl: new URL(`data/${dataset}`, location.href).href });
  if (loader.manifest.vocabSize !== vocab) throw new Error(`dataset ${dataset} has vocabulary ${loader.manifest.vocabSize}, the model needs ${vocab}`);
  return loader;
}

function checkPositive(spec: object, keys: string[]): void {
  for (const key of keys) {
    const v = (spec as Record<string, unknown>)[key];
    if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${key} must be a positive integer, got ${String(v)}`);
  }
}

export async function simulateDemo(input: DemoSimulationSpec): Promise<DemoSimulationResult> {
  const spec = withDefaults(input);
  checkPositive(spec, ['replicas', 'batchPerReplica', 'seqLen', 'steps']);
  if (spec.delay !== 0 && spec.delay !== 1) throw new RangeError(`delay must be 0 or 1, got ${String(spec.delay)}`);
  const config = getPreset(spec.preset);
  const loader = await openLoader(spec.dataset, config.vocab_size);
  const gpu = await Gpu.create();
  // One initialization, copied into every replica: they must start bit-identical.
  const init = initParams(config, spec.seed);
  const replicas = Array.from({ length: spec.replicas }, () =>
    new DemoReplica(GpuModel.fromParams(gpu, config, init), { chunk: spec.chunk, topk: spec.topk }),
  );
  const runId = randomRunId();
  const N = spec.replicas;
  const B = spec.batchPerReplica;
  const steps: DemoStepRecord[] = [];
  let bytesPerUpdate = 0;
  let fbMs = 0;
  let encMs = 0;
  let decMs = 0;
  let verifyMs = 0;
  let recomputeMs = 0;
  let recomputes = 0;
  let maxProofError = 0;
  let checks = 0;
  // Delay 1: the last step's agreed set, applied only after this step's gradients are taken.
  let pending: { updates: Uint8Array[]; lr: number } | null = null;
  try {
    for (let step = 0; step < spec.steps; step++) {
      const lr = lrAt(spec, step);
      const updates: Uint8Array[] = [];
      let lossSum = 0;
      for (let r = 0; r < N; r++) {
        const batchStart = step * N * B + r * B;
        const batch = await loader.batchForRange(batchStart, B, spec.seqLen);
        const u = await replicas[r].computeUpdate(batch, lr, { runId, step, batchStart, batchCount: B });
        updates.push(u.bytes);
        lossSum += u.loss;
        fbMs += u.forwardBackwardMs;
        encMs += u.encodeMs;
        bytesPerUpdate = u.bytes.length;
      }
      for (let r = 0; r < N; r++) {
        const t0 = performance.now();
        // As a verifier does: decode the round's updates once, then score each other one against the rest (its own first).
        const decoded = updates.map((u) => decodeUpdate(u, replicas[r].expectedUpdate));
        const keys = decoded.map(updateKeys);
        const all = keys.map((_, i) => i);
        for (let j = 0; j < N; j++) if (j !== r) agreementScoreOfKeys(keys[j], referenceSlots(r, all, j, DEFAULT_VERIFICATION.references, N).map((i) => keys[i]));
        verifyMs += performance.now() - t0;
        checks += N - 1;
      }
      if (N > 1) {
        for (let r = 0; r < N; r++) {
          // Before the apply, as in a round: the parameters are the ones every update was trained from.
          const t0 = performance.now();
          const u = decodeUpdate(updates[(r + 1) % N], replicas[r].expectedUpdate);
          const offset = (step + r) % proofUnits(u.batchCount, u.unitSize);
          const unit = updateUnit(u, offset);
          const sketch = await replicas[r].unitSketch(await loader.batchForRange(u.batchStart + unit.start, unit.count, spec.seqLen), step);
          maxProofError = Math.max(maxProofError, proofErrorPermille(claimedSketch(u, offset), sketch));
          recomputeMs += performance.now() - t0;
          recomputes++;
        }
      }
      // Each set is applied with the lr its updates were computed at (a round's lrBits).
      const sets: { updates: Uint8Array[]; lr: number }[] = [];
      if (spec.delay === 0) sets.push({ updates, lr });
      else {
        if (pending) sets.push(pending);
        pending = { updates, lr };
        if (step === spec.steps - 1) sets.push(pending);
      }
      const checksums: string[] = [];
      for (let r = 0; r < N; r++) {
        let checksum = sets.length === 0 ? await replicas[r].model.checksum() : '';
        for (const set of sets) {
          // Replica r sees the agreed set rotated by r: the result must not depend on order.
          const order = set.updates.map((_, i) => set.updates[(i + r) % N]);
          const applied = await replicas[r].applyAgreed(order, set.lr, spec.weightDecay);
          checksum = applied.checksum;
          decMs += applied.decodeMs;
        }
        checksums.push(checksum);
      }
      steps.push({ step, loss: lossSum / N, checksums, checksumsAgree: checksums.every((c) => c === checksums[0]) });
    }
    const per = N * spec.steps;
    const dense = replicas[0].denseGradientBytes;
    const [fb, enc, dec] = [fbMs / per, encMs / per, decMs / per];
    const recomputePerCheck = recomputes > 0 ? recomputeMs / recomputes : 0;
    const perCheck = (checks > 0 ? verifyMs / checks : 0) + recomputePerCheck;
    return {
      spec,
      parameters: replicas[0].model.parameterCount,
      steps,
      losses: steps.map((s) => s.loss),
      allChecksumsAgree: steps.every((s) => s.checksumsAgree),
      bytesPerUpdate,
      proofBytesPerUpdate: proofBytes(B),
      denseGradientBytes: dense,
      compressionRatio: dense / (bytesPerUpdate - proofBytes(B)),
      payloadRatio: dense / bytesPerUpdate,
      forwardBackwardMs: fb,
      encodeMs: enc,
      decodeMs: dec,
      encodeDecodeShare: (enc + dec) / (fb + enc + dec),
      verifyMsPerCheck: perCheck,
      recomputeMsPerCheck: recomputePerCheck,
      maxProofErrorPermille: maxProofError,
      verifyShare: (VERIFIERS_PER_CHECK * perCheck) / (fb + enc + dec),
      verifySteadyShare: (steadyRate(N, B) * VERIFIERS_PER_CHECK * perCheck) / (fb + enc + dec),
    };
  } finally {
    for (const r of replicas) {
      r.dispose();
      r.model.dispose();
    }
    gpu.device.destroy();
  }
}

/** AdamW on one replica over the same sequences as simulateDemo's N replicas (batch = N·B). */
export async function simulateAdamW(input: AdamWSimulationSpec): Promise<AdamWSimulationResult> {
  const config = getPreset(input.preset);
  const spec: Required<AdamWSimulationSpec> = {
    ...input,
    schedule: input.schedule ?? 'constant',
    warmupSteps: input.warmupSteps ?? 0,
    weightDecay: input.weightDecay ?? 0,
    dataset: input.dataset ?? defaultDataset(config.vocab_size),
    seed: input.seed ?? 1,
  };
  checkPositive(spec, ['batch', 'seqLen', 'steps']);
  const loader = await openLoader(spec.dataset, config.vocab_size);
  const gpu = await Gpu.create();
  const model = GpuModel.fromParams(gpu, config, initParams(config, spec.seed));
  const trainer = new AdamWTrainer(model, { ...DEFAULT_ADAMW, weightDecay: spec.weightDecay });
  try {
    const losses: number[] = [];
    for (let step = 0; step < spec.steps; step++) {
      const batch = await loader.batchForRange(step * spec.batch, spec.batch, spec.seqLen);
      losses.push((await trainer.train(batch, lrAt(spec, step))).loss);
    }
    return { spec, losses };
  } finally {
    trainer.dispose();
    model.dispose();
    gpu.device.destroy();
  }
}

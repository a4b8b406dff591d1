/**
 * Training throughput: forward + backward + clipping + AdamW of a model
 * preset on real text (the Austen shards of the preset's tokenizer), as the training worker
 * runs it. Tokens/s comes from unprofiled steps; one profiled step then gives
 * each kernel's share of the step (timestamp queries, one pass per kernel).
 */
import { openShardLoader } from '../src/data/loader';
import { Gpu } from '../src/gpu/gpu';
import type { KernelTiming } from '../src/gpu/profiler';
import { getPreset } from '../src/model/config';
import { GpuModel } from '../src/model/gpu-model';
import { AdamWTrainer, DEFAULT_ADAMW } from '../src/train/adamw-trainer';

export interface TrainingSpec {
  preset: string;
  batch: number;
  seqLen: number;
  steps: number;
}

export interface TrainingResult extends TrainingSpec {
  parameters: number;
  msPerStep: number;
  tokensPerSec: number;
  losses: number[];
  /** Per kernel label, slowest first; empty without timestamp queries. */
  kernels: (KernelTiming & { share: number })[];
  profiledStepMs: number | null;
}

const LR = 3e-3;

export async function benchTraining(spec: TrainingSpec): Promise<TrainingResult> {
  const gpu = await Gpu.create();
  const config = getPreset(spec.preset);
  const dataset = config.vocab_size === 256 ? 'austen-byte' : 'austen-gpt2';
  const loader = await openShardLoader({ baseUrl: new URL(`data/${dataset}`, location.href).href });
  if (loader.manifest.vocabSize !== config.vocab_size) throw new Error(`${spec.preset} needs vocabulary ${config.vocab_size}`);
  const model = GpuModel.create(gpu, config, 1);
  const trainer = new AdamWTrainer(model, DEFAULT_ADAMW);
  try {
    const batches = await Promise.all(
      Array.from({ length: spec.steps + 2 }, (_, i) => loader.batchForRange(i * spec.batch, spec.batch, spec.seqLen)),
    );
    const losses: number[] = [];
    // Two warm-up steps compile every pipeline and allocate every buffer.
    for (const b of batches.slice(0, 2)) losses.push((await trainer.train(b, LR)).loss);
    const t0 = performance.now();
    for (const b of batches.slice(2)) losses.push((await trainer.train(b, LR)).loss);
    const msPerStep = (performance.now() - t0) / spec.steps;
    const { kernels, stepMs } = await profiledStep(gpu, trainer, batches[batches.length - 1]);
    return {
      ...spec,
      parameters: model.parameterCount,
      msPerStep,
      tokensPerSec: (spec.batch * spec.seqLen * 1000) / msPerStep,
      losses,
      kernels,
      profiledStepMs: stepMs,
    };
  } finally {
    trainer.dispose();
    model.dispose();
    gpu.device.destroy();
  }
}

async function profiledStep(gpu: Gpu, trainer: AdamWTrainer, batch: Parameters<AdamWTrainer['train']>[0]) {
  if (!gpu.features.timestamp) return { kernels: [], stepMs: null };
  gpu.profiling = true;
  const before = gpu.lastProfile;
  await trainer.train(batch, LR);
  for (let i = 0; i < 500 && gpu.lastProfile === before; i++) await new Promise((r) => setTimeout(r, 2));
  gpu.profiling = false;
  const total = gpu.lastProfile.reduce((s, t) => s + t.ms, 0);
  const kernels = [...gpu.lastProfile].sort((a, b) => b.ms - a.ms).map((t) => ({ ...t, share: t.ms / total }));
  return { kernels, stepMs: total };
}

/**
 * The training worker: owns its own WebGPU device, the model, the optimizer
 * and the data loader, so the page's UI thread never waits on the GPU.
 * Messages both ways follow src/train/protocol.ts and are validated here.
 */
import { z } from 'zod';
import { openIdbCache, openShardLoader, type ShardLoader } from '../data/loader';
import { Gpu } from '../gpu/gpu';
import { getPreset } from '../model/config';
import { GpuModel } from '../model/gpu-model';
import { AdamWTrainer } from './adamw-trainer';
import { type FromWorker, type TrainSettings, ToWorkerSchema } from './protocol';
import { wsdLearningRate } from './schedule';

let runId = 0; // a new start or a stop ends the loop of the previous run
let duty = 1;

function post(msg: FromWorker): void {
  (self as unknown as Worker).postMessage(msg);
}

self.onmessage = (ev: MessageEvent) => {
  const parsed = ToWorkerSchema.safeParse(ev.data);
  if (!parsed.success) {
    const message = `training worker: rejected a malformed message: ${z.prettifyError(parsed.error)}`;
    console.error(message, ev.data);
    post({ type: 'error', message });
    return;
  }
  const msg = parsed.data;
  if (msg.type === 'stop') {
    runId++;
  } else if (msg.type === 'duty') {
    duty = msg.duty;
  } else {
    duty = msg.settings.duty;
    const id = ++runId;
    train(msg.settings, id).catch((err: unknown) => {
      console.error(err);
      post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      post({ type: 'stopped', reason: 'error' });
    });
  }
};

async function openData(settings: TrainSettings, vocab: number): Promise<ShardLoader> {
  const baseUrl = new URL(`${import.meta.env.BASE_URL}data/${settings.dataset}`, self.location.origin).href;
  // IndexedDB keeps fetched shard chunks across reloads; without it, memory does.
  const cache = await openIdbCache().catch(() => undefined);
  const loader = await openShardLoader({ baseUrl, cache });
  if (loader.manifest.vocabSize !== vocab) {
    throw new Error(`dataset ${settings.dataset} has vocabulary ${loader.manifest.vocabSize}, the model ${settings.preset} expects ${vocab}`);
  }
  return loader;
}

async function train(settings: TrainSettings, id: number): Promise<void> {
  post({ type: 'status', message: 'Starting WebGPU…' });
  const gpu = await Gpu.create(navigator.gpu, (message) => {
    runId++;
    post({ type: 'error', message });
  });
  // One pass per kernel with timestamps, so the page can show where a step's time goes.
  gpu.profiling = gpu.features.timestamp;
  const config = getPreset(settings.preset);
  post({ type: 'status', message: `Loading ${settings.dataset}…` });
  const loader = await openData(settings, config.vocab_size);
  const model = GpuModel.create(gpu, config, settings.seed);
  const trainer = new AdamWTrainer(model, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: settings.weightDecay, gradClip: settings.gradClip });
  const schedule = { lr: settings.lr, warmupSteps: Math.min(20, Math.max(1, Math.floor(settings.steps / 10))), totalSteps: settings.steps, decayFraction: 0.2, minFactor: 0.1 };
  post({ type: 'started', parameters: model.parameterCount, adapter: `${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`.trim() });
  const { batchSize: B, seqLen: S } = settings;
  let tokens = 0;
  const t0 = performance.now();
  try {
    for (let step = 0; id === runId && (settings.steps === 0 || step < settings.steps); step++) {
      const batch = await loader.batchForRange(step * B, B, S);
      const lr = wsdLearningRate(schedule, step);
      const tStep = performance.now();
      const result = await trainer.train(batch, lr);
      const stepMs = performance.now() - tStep;
      tokens += B * S;
      post({
        type: 'step',
        report: {
          step: step + 1,
          loss: result.loss,
          tokens,
          tokensPerSec: tokens / ((performance.now() - t0) / 1000),
          stepMs,
          gradNorm: result.gradNorm,
          lr,
          profile: gpu.lastProfile,
        },
      });
      // The usage cap: rest so the GPU is busy only `duty` of the time.
      if (duty < 1) await new Promise((r) => setTimeout(r, (stepMs * (1 - duty)) / duty));
    }
    post({ type: 'stopped', reason: id === runId ? 'finished' : 'stopped' });
  } finally {
    trainer.dispose();
    model.dispose();
    gpu.device.destroy();
  }
}

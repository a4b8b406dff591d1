/**
 * globalThis.tessera — the documented console API for kernel developers
 * (README "Devtools API"). Keep names and result shapes stable.
 */
import { pageGpu } from '../gpu/page-gpu';
import { latestProfile } from '../gpu/profile-store';
import { applyUpdates, compressGradient } from './demo-api';
import type { CheckOptions, CheckResult } from '../kernels/check';
import { findCheck, kernelChecks } from '../kernels/registry';
import { getPreset, type ModelConfigInput } from '../model/config';
import { GpuModel, type TokenBatch } from '../model/gpu-model';
import { runApi } from '../run-client/tab-run';

export interface GpuInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  features: string[];
  limits: Record<string, number>;
}

async function info(): Promise<GpuInfo> {
  const gpu = await pageGpu();
  const limits: Record<string, number> = {};
  // GPUSupportedLimits keeps its fields on the prototype, so Object.keys sees nothing.
  for (const key in gpu.limits) {
    const value = (gpu.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') limits[key] = value;
  }
  return { adapter: gpu.info, features: [...gpu.device.features].sort(), limits };
}

/** Per-kernel GPU time of the last profiled step (the training worker's while it trains). */
function profile(): { label: string; ms: number; count: number }[] {
  return [...latestProfile().timings].sort((a, b) => b.ms - a.ms);
}

function list(): { name: string; description: string }[] {
  return kernelChecks.map((c) => ({ name: c.name, description: c.description }));
}

async function check(name: string, opts?: CheckOptions): Promise<CheckResult> {
  return findCheck(name).run(await pageGpu(), opts);
}

/** The model handle of docs/design.md §8. */
export interface ModelHandle {
  config: GpuModel['config'];
  parameterCount: number;
  lossAndGrads(batch: TokenBatch): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  logits(batch: Omit<TokenBatch, 'targets'>): Promise<Float32Array>;
  toSafetensors(): Promise<Uint8Array>;
  configJson(): string;
  checksum(): Promise<string>;
  dispose(): void;
}

function handle(model: GpuModel): ModelHandle {
  return {
    config: model.config,
    parameterCount: model.parameterCount,
    lossAndGrads: (batch) => model.lossAndGrads(batch),
    logits: (batch) => model.logits(batch),
    toSafetensors: () => model.toSafetensors(),
    configJson: () => model.configJson(),
    checksum: () => model.checksum(),
    dispose: () => model.dispose(),
  };
}

function resolveConfig(config: string | ModelConfigInput): ModelConfigInput {
  return typeof config === 'string' ? getPreset(config) : config;
}

async function createModel(config: string | ModelConfigInput, seed = 1): Promise<ModelHandle> {
  return handle(GpuModel.create(await pageGpu(), resolveConfig(config), seed));
}

async function fromSafetensors(bytes: Uint8Array | ArrayBuffer, config?: string | ModelConfigInput): Promise<ModelHandle> {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return handle(GpuModel.fromSafetensors(await pageGpu(), u8, config === undefined ? undefined : resolveConfig(config)));
}

/** The generation model's checks (src/generate/onnx-checks.ts) on this page's WebGPU, with our WGSL forward beside. */
async function generationChecks(): Promise<import('../generate/onnx-checks').OnnxCheck[]> {
  const [{ ort }, { onnxChecks }] = await Promise.all([import('../generate/ort-browser'), import('../generate/onnx-checks')]);
  return onnxChecks(ort, 'webgpu', await pageGpu());
}

export const tessera = {
  gpu: { info, profile },
  kernels: { list, check },
  model: { create: createModel, fromSafetensors },
  demo: { compress: compressGradient, apply: (args: Parameters<typeof applyUpdates>[0]) => applyUpdates(args) },
  run: runApi,
  generate: { checks: generationChecks },
};

export type TesseraApi = typeof tessera;

export function installDevtools(extra: Record<string, unknown> = {}): void {
  Object.assign(tessera, extra);
  (globalThis as unknown as { tessera: TesseraApi }).tessera = tessera;
}

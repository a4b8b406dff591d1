/**
 * globalThis.tessera — the documented console API for kernel developers
 * (README "Devtools API"). Keep names and result shapes stable.
 */
import { pageGpu } from '../gpu/page-gpu';
import type { CheckOptions, CheckResult } from '../kernels/check';
import { findCheck, kernelChecks } from '../kernels/registry';

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

async function profile(): Promise<{ label: string; ms: number; count: number }[]> {
  const gpu = await pageGpu();
  return [...gpu.lastProfile].sort((a, b) => b.ms - a.ms);
}

function list(): { name: string; description: string }[] {
  return kernelChecks.map((c) => ({ name: c.name, description: c.description }));
}

async function check(name: string, opts?: CheckOptions): Promise<CheckResult> {
  return findCheck(name).run(await pageGpu(), opts);
}

export const tessera = {
  gpu: { info, profile },
  kernels: { list, check },
};

export type TesseraApi = typeof tessera;

export function installDevtools(extra: Record<string, unknown> = {}): void {
  Object.assign(tessera, extra);
  (globalThis as unknown as { tessera: TesseraApi }).tessera = tessera;
}

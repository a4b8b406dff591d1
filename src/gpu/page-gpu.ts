/**
 * The page's one WebGPU runtime, created on first use. Every UI part and the
 * devtools API share it so pipelines compile once.
 */
import { Gpu } from './gpu';

let pending: Promise<Gpu> | null = null;
let lostMessage: string | null = null;
const lostListeners = new Set<(message: string) => void>();

export function pageGpu(): Promise<Gpu> {
  pending ??= Gpu.create(undefined, (message) => {
    lostMessage = message;
    pending = null; // the next caller gets a fresh device
    for (const listener of lostListeners) listener(message);
  }).catch((err: unknown) => {
    pending = null;
    throw err;
  });
  return pending;
}

export function onGpuLost(listener: (message: string) => void): () => void {
  lostListeners.add(listener);
  return () => lostListeners.delete(listener);
}

export function gpuLostMessage(): string | null {
  return lostMessage;
}

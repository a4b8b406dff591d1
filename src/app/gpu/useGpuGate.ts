/**
 * Tries the page's WebGPU device once on load so pages that need it can show
 * a clear explanation instead of failing deep inside a kernel call.
 */
import { useEffect, useState } from 'react';
import { WebGpuUnavailableError } from '../../gpu/device';
import { gpuLostMessage, onGpuLost, pageGpu } from '../../gpu/page-gpu';
import { errorMessage } from '../format';

export type GpuGate =
  | { state: 'pending' }
  | { state: 'ready'; adapter: string }
  | {
      state: 'unavailable';
      /** true when the browser lacks WebGPU or an adapter, false when the device itself failed. */
      missing: boolean;
      message: string;
    };

export function useGpuGate(): GpuGate {
  const [gate, setGate] = useState<GpuGate>({ state: 'pending' });
  useEffect(() => {
    let live = true;
    pageGpu().then(
      (gpu) => {
        if (!live) return;
        const { vendor, architecture, description, device } = gpu.info;
        const adapter = description || [vendor, architecture, device].filter(Boolean).join(' ') || 'WebGPU adapter';
        setGate({ state: 'ready', adapter });
      },
      (err: unknown) => {
        console.warn('WebGPU unavailable:', err); // an environment condition the page explains, not a bug
        if (live) setGate({ state: 'unavailable', missing: err instanceof WebGpuUnavailableError, message: errorMessage(err) });
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return gate;
}

/** The latest device-lost message, or null while the device is healthy (or the banner was dismissed). */
export function useGpuLost(): [string | null, () => void] {
  const [message, setMessage] = useState<string | null>(() => gpuLostMessage());
  useEffect(() => onGpuLost(setMessage), []);
  return [message, () => setMessage(null)];
}

/**
 * The most recent per-kernel GPU timings seen by this page, from its own
 * device or reported by the training worker, for `tessera.gpu.profile()`.
 */
import type { KernelTiming } from './profiler';

let latest: { source: string; timings: KernelTiming[] } = { source: 'none', timings: [] };

export function recordProfile(source: string, timings: KernelTiming[]): void {
  if (timings.length > 0) latest = { source, timings };
}

export function latestProfile(): { source: string; timings: KernelTiming[] } {
  return latest;
}

/**
 * Counts the bytes a device really allocates, to hold the memory plan
 * (src/train/memory-plan.ts) against them: WebGPU reports no memory use, so
 * the device's createBuffer is wrapped and every buffer is counted until it
 * is destroyed. Readback staging buffers (MAP_READ) live for one read and
 * uniforms are a few bytes each; they are counted apart from storage.
 */

export interface AllocSnapshot {
  /** Storage buffers alive now. */
  storage: number;
  storageBuffers: number;
  /** The most storage bytes alive at once since the tracker was installed. */
  peakStorage: number;
  uniform: number;
  /** The most MAP_READ staging bytes alive at once. */
  peakStaging: number;
  /** Live storage bytes by label, largest first (the pool's names, demo.*, …). */
  byLabel: { label: string; bytes: number; count: number }[];
}

export interface AllocTracker {
  snapshot(): AllocSnapshot;
  /** Puts the device's own createBuffer back. */
  uninstall(): void;
}

type Kind = 'storage' | 'uniform' | 'staging';

// GPUBufferUsage's bits as numbers: the globals may not exist yet when this runs in Node.
const MAP_READ = 0x1;
const UNIFORM = 0x40;

const kindOf = (usage: number): Kind => ((usage & MAP_READ) !== 0 ? 'staging' : (usage & UNIFORM) !== 0 ? 'uniform' : 'storage');

export function trackAllocations(device: GPUDevice): AllocTracker {
  const original = device.createBuffer.bind(device);
  const live = new Map<GPUBuffer, { kind: Kind; bytes: number; label: string }>();
  const total: Record<Kind, number> = { storage: 0, uniform: 0, staging: 0 };
  const peak: Record<Kind, number> = { storage: 0, uniform: 0, staging: 0 };
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const buf = original(desc);
    const entry = { kind: kindOf(desc.usage), bytes: desc.size, label: desc.label ?? '' };
    live.set(buf, entry);
    total[entry.kind] += entry.bytes;
    peak[entry.kind] = Math.max(peak[entry.kind], total[entry.kind]);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = () => {
      if (live.delete(buf)) total[entry.kind] -= entry.bytes;
      destroy();
    };
    return buf;
  };
  return {
    snapshot: () => snapshotOf(live, total, peak),
    uninstall: () => {
      device.createBuffer = original;
    },
  };
}

function snapshotOf(
  live: Map<GPUBuffer, { kind: Kind; bytes: number; label: string }>,
  total: Record<Kind, number>,
  peak: Record<Kind, number>,
): AllocSnapshot {
  const labels = new Map<string, { bytes: number; count: number }>();
  let storageBuffers = 0;
  for (const e of live.values()) {
    if (e.kind !== 'storage') continue;
    storageBuffers++;
    const l = labels.get(e.label) ?? { bytes: 0, count: 0 };
    labels.set(e.label, { bytes: l.bytes + e.bytes, count: l.count + 1 });
  }
  const byLabel = [...labels].map(([label, v]) => ({ label, ...v })).sort((a, b) => b.bytes - a.bytes);
  return { storage: total.storage, storageBuffers, peakStorage: peak.storage, uniform: total.uniform, peakStaging: peak.staging, byLabel };
}

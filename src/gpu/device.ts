/**
 * Acquires a WebGPU adapter and device. Limits are requested from what the
 * adapter offers (the defaults are far below what real GPUs can do), and each
 * optional feature is asked for only when present, so every caller must be
 * ready for it to be missing.
 */
export interface GpuFeatures {
  timestamp: boolean;
  subgroups: boolean;
  f16: boolean;
}

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  features: GpuFeatures;
  info: { vendor: string; architecture: string; device: string; description: string };
}

export class WebGpuUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'WebGpuUnavailableError';
  }
}

/** Limits worth raising for compute: bigger buffers and workgroups. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export async function acquireDevice(
  gpu: GPU | undefined = globalThis.navigator?.gpu,
  opts: { powerPreference?: GPUPowerPreference; onLost?: (message: string) => void } = {},
): Promise<AcquiredDevice> {
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'This browser does not expose WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Firefox, ' +
        'serve the page over https or localhost, and enable WebGPU (chrome://flags/#enable-unsafe-webgpu on Linux).',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'WebGPU is present but no GPU adapter was found. Check that hardware acceleration is on (chrome://gpu) ' +
        'and that your GPU driver is not blocklisted.',
    );
  }
  const features: GpuFeatures = {
    timestamp: adapter.features.has('timestamp-query'),
    subgroups: adapter.features.has('subgroups'),
    f16: adapter.features.has('shader-f16'),
  };
  const requiredFeatures: GPUFeatureName[] = [];
  if (features.timestamp) requiredFeatures.push('timestamp-query');
  if (features.subgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  if (features.f16) requiredFeatures.push('shader-f16');
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ label: 'tessera-device', requiredFeatures, requiredLimits });
  device.lost.then((lost) => {
    if (lost.reason === 'destroyed') return; // we did it on purpose
    const message =
      `The GPU device was lost (${lost.reason}): ${lost.message || 'no detail'}. ` +
      'Training stopped; reload the page to start again.';
    console.error(message);
    opts.onLost?.(message);
  });
  device.onuncapturederror = (ev) => console.error('WebGPU error:', ev.error.message);
  const raw = adapter.info as GPUAdapterInfo | undefined;
  const info = {
    vendor: raw?.vendor ?? '',
    architecture: raw?.architecture ?? '',
    device: raw?.device ?? '',
    description: raw?.description ?? '',
  };
  return { adapter, device, features, info };
}

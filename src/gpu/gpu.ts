/**
 * The WebGPU runtime every kernel and the model use: device, pipeline cache,
 * labelled buffers, uniform and bind-group caches, command recording with
 * optional per-kernel timestamps.
 *
 * Binding convention for every kernel: @group(0) @binding(0) is the uniform
 * parameter struct (when the kernel has one), then storage buffers at
 * bindings 1, 2, … in the order the wrapper passes them.
 */
import { acquireDevice, type AcquiredDevice, type GpuFeatures } from './device';
import { PipelineCache } from './pipeline-cache';
import { recordProfile } from './profile-store';
import { Profiler, type KernelTiming } from './profiler';

export type Workgroups = [number, number?, number?];

/**
 * A whole buffer, or a range of one (offset a multiple of the device's
 * minStorageBufferOffsetAlignment, 256 bytes on every GPU we have seen).
 */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  params?: ArrayBuffer;
  buffers: Binding[];
  workgroups: Workgroups;
}

const UNIFORM_CACHE_LIMIT = 4096;
const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (constants work before GPUBufferUsage exists)

/** What Gpu.buffer allocates for `bytes`: rounded up to 4, never under 16 (the memory plan counts by it). */
export function allocatedBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 4) * 4);
}

export class Gpu {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly features: GpuFeatures;
  readonly info: AcquiredDevice['info'];
  readonly pipelines: PipelineCache;
  private readonly profiler: Profiler | null;
  profiling = false;
  private readonly uniformCache = new Map<string, GPUBuffer>();
  private bindGroupCache = new WeakMap<GPUComputePipeline, Map<string, GPUBindGroup>>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  lastProfile: KernelTiming[] = [];

  private constructor(acquired: AcquiredDevice) {
    this.device = acquired.device;
    this.adapter = acquired.adapter;
    this.features = acquired.features;
    this.info = acquired.info;
    this.pipelines = new PipelineCache(this.device);
    this.profiler = acquired.features.timestamp ? new Profiler(this.device) : null;
  }

  static async create(gpu?: GPU, onLost?: (message: string) => void): Promise<Gpu> {
    return new Gpu(await acquireDevice(gpu, { onLost }));
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  pipeline(label: string, code: string, entryPoint = 'main', constants: Record<string, number> = {}): GPUComputePipeline {
    return this.pipelines.get(label, code, entryPoint, constants);
  }

  /** A storage buffer of at least `bytes` (allocatedBytes: rounded up to 4, never empty). */
  buffer(label: string, bytes: number, usage = STORAGE): GPUBuffer {
    const buf = this.device.createBuffer({ label, size: allocatedBytes(bytes), usage });
    this.bufferIds.set(buf, this.nextBufferId++);
    return buf;
  }

  upload(label: string, data: ArrayBufferView, usage = STORAGE): GPUBuffer {
    const buf = this.buffer(label, data.byteLength, usage);
    this.write(buf, data);
    return buf;
  }

  write(buf: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    // writeBuffer wants a multiple of 4 bytes.
    if (data.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buf, byteOffset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    } else {
      this.device.queue.writeBuffer(buf, byteOffset, padTo4(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    }
  }

  async read(buf: GPUBuffer, bytes = buf.size, byteOffset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({
      label: `${buf.label}.readback`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder({ label: `${buf.label}.read` });
    enc.copyBufferToBuffer(buf, byteOffset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(buf: GPUBuffer, n: number, offset = 0): Promise<Float32Array> {
    return new Float32Array(await this.read(buf, n * 4, offset * 4));
  }

  async readU32(buf: GPUBuffer, n: number, offset = 0): Promise<Uint32Array> {
    return new Uint32Array(await this.read(buf, n * 4, offset * 4));
  }

  /** Records dispatches into one submit. */
  encoder(label: string): Recorder {
    // Parameters that change every step (learning rate, step count) would
    // grow the caches forever; start over now and then, between recordings.
    // Destroying a buffer that submitted work still uses is safe: that work
    // completes first.
    if (this.uniformCache.size >= UNIFORM_CACHE_LIMIT) {
      for (const old of this.uniformCache.values()) old.destroy();
      this.uniformCache.clear();
      this.bindGroupCache = new WeakMap();
    }
    return new Recorder(this, label);
  }

  /** Convenience: record and submit one batch of dispatches. */
  run(label: string, dispatches: Dispatch[]): void {
    const rec = this.encoder(label);
    for (const d of dispatches) rec.dispatch(d);
    rec.submit();
  }

  async idle(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }

  /** @internal */
  uniform(params: ArrayBuffer): GPUBuffer {
    const key = new Uint32Array(params).join(',');
    let buf = this.uniformCache.get(key);
    if (!buf) {
      buf = this.device.createBuffer({
        label: `params[${key}]`,
        size: params.byteLength,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      this.device.queue.writeBuffer(buf, 0, params);
      this.uniformCache.set(key, buf);
    }
    return buf;
  }

  /** @internal */
  bindGroup(d: Dispatch): GPUBindGroup {
    const uniform = d.params ? this.uniform(d.params) : null;
    const all: Binding[] = uniform ? [uniform, ...d.buffers] : d.buffers;
    const key = all.map((b) => ('buffer' in b ? `${this.idOf(b.buffer)}@${b.offset}+${b.size}` : this.idOf(b))).join(',');
    let perPipeline = this.bindGroupCache.get(d.pipeline);
    if (!perPipeline) {
      perPipeline = new Map();
      this.bindGroupCache.set(d.pipeline, perPipeline);
    }
    let group = perPipeline.get(key);
    if (!group) {
      const offset = uniform ? 0 : 1;
      group = this.device.createBindGroup({
        label: `${d.label}.bindings`,
        layout: d.pipeline.getBindGroupLayout(0),
        entries: all.map((b, i) => ({ binding: i + offset, resource: 'buffer' in b ? b : { buffer: b } })),
      });
      perPipeline.set(key, group);
    }
    return group;
  }

  /** @internal */
  takeProfiler(): Profiler | null {
    return this.profiling ? this.profiler : null;
  }

  private idOf(buf: GPUBuffer): number {
    let id = this.bufferIds.get(buf);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buf, id);
    }
    return id;
  }
}

export class Recorder {
  private readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly profiler: Profiler | null;

  constructor(
    private readonly gpu: Gpu,
    private readonly label: string,
  ) {
    this.encoder = gpu.device.createCommandEncoder({ label });
    this.profiler = gpu.takeProfiler();
  }

  dispatch(d: Dispatch): this {
    const [x, y = 1, z = 1] = d.workgroups;
    if (x === 0 || y === 0 || z === 0) return this;
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new RangeError(`${d.label}: workgroup grid ${x}×${y}×${z} exceeds the device limit ${max}`);
    }
    const group = this.gpu.bindGroup(d);
    let pass: GPUComputePassEncoder;
    const timestampWrites = this.profiler?.reserve(d.label);
    if (timestampWrites) {
      this.endPass();
      pass = this.encoder.beginComputePass({ label: d.label, timestampWrites });
    } else {
      // Dispatches in one pass are ordered and see each other's writes.
      this.pass ??= this.encoder.beginComputePass({ label: `${d.label}+` });
      pass = this.pass;
    }
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    if (timestampWrites) pass.end();
    return this;
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): this {
    this.endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    return this;
  }

  clear(buf: GPUBuffer, bytes = buf.size, offset = 0): this {
    this.endPass();
    this.encoder.clearBuffer(buf, offset, bytes);
    return this;
  }

  submit(): void {
    this.endPass();
    const collect = this.profiler?.resolve(this.encoder) ?? null;
    this.gpu.device.queue.submit([this.encoder.finish()]);
    if (collect) {
      void collect().then((timings) => {
        this.gpu.lastProfile = timings;
        recordProfile(this.label, timings);
      });
    }
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}

function padTo4(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(bytes);
  return out;
}

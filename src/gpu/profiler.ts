/**
 * Per-kernel GPU time from timestamp queries. Each profiled dispatch runs in
 * its own compute pass with begin/end timestamps; times are summed by label.
 */
export interface KernelTiming {
  label: string;
  ms: number;
  count: number;
}

const CAPACITY = 4096; // timestamps per submit: 2048 profiled dispatches

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly labels: string[] = [];
  private readbackPool: GPUBuffer[] = [];
  last: KernelTiming[] = [];

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ label: 'profiler.timestamps', type: 'timestamp', count: CAPACITY });
    this.resolveBuf = device.createBuffer({
      label: 'profiler.resolve',
      size: CAPACITY * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Returns timestampWrites for a pass, or undefined when the set is full. */
  reserve(label: string): GPUComputePassTimestampWrites | undefined {
    const i = this.labels.length;
    if (2 * i + 2 > CAPACITY) return undefined;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /**
   * Resolves this submit's timestamps into a readback buffer; call before
   * encoder.finish(). The returned function must be called after the submit
   * (mapping earlier would make the submit invalid).
   */
  resolve(encoder: GPUCommandEncoder): (() => Promise<KernelTiming[]>) | null {
    const n = this.labels.length;
    if (n === 0) return null;
    const labels = this.labels.splice(0);
    const bytes = n * 16;
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
    const readback =
      this.readbackPool.pop() ??
      this.device.createBuffer({
        label: 'profiler.readback',
        size: CAPACITY * 8,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    encoder.copyBufferToBuffer(this.resolveBuf, 0, readback, 0, bytes);
    return async () => {
      await readback.mapAsync(GPUMapMode.READ, 0, bytes);
      const ticks = new BigUint64Array(readback.getMappedRange(0, bytes).slice(0));
      readback.unmap();
      this.readbackPool.push(readback);
      const byLabel = new Map<string, KernelTiming>();
      labels.forEach((label, i) => {
        const ns = Number(ticks[2 * i + 1] - ticks[2 * i]);
        const t = byLabel.get(label) ?? { label, ms: 0, count: 0 };
        t.ms += Math.max(0, ns) / 1e6;
        t.count++;
        byLabel.set(label, t);
      });
      this.last = [...byLabel.values()];
      return this.last;
    };
  }
}

/**
 * Named GPU buffers for one batch shape: activations saved for the backward
 * pass and gradient scratch. Allocated on first use, kept while the shape
 * stays the same, all freed together.
 */
import type { Gpu } from '../gpu/gpu';

export class BufferPool {
  private readonly buffers = new Map<string, { buf: GPUBuffer; floats: number }>();

  constructor(
    private readonly gpu: Gpu,
    private readonly prefix: string,
  ) {}

  /** The buffer called `name`, holding at least `floats` 4-byte elements. */
  get(name: string, floats: number): GPUBuffer {
    const have = this.buffers.get(name);
    if (have && have.floats >= floats) return have.buf;
    have?.buf.destroy();
    const buf = this.gpu.buffer(`${this.prefix}.${name}`, floats * 4);
    this.buffers.set(name, { buf, floats });
    return buf;
  }

  get bytes(): number {
    let n = 0;
    for (const { buf } of this.buffers.values()) n += buf.size;
    return n;
  }

  dispose(): void {
    for (const { buf } of this.buffers.values()) buf.destroy();
    this.buffers.clear();
  }
}

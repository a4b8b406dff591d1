/**
 * One DeMo replica (DESIGN.md §4): forward + backward, global-norm clipping
 * and per-tensor compression on the GPU, the update leaving as codec bytes;
 * then the round's agreed updates, decoded from bytes, applied with the exact
 * integer decode so that every replica lands on the same parameter bits.
 */
import type { Binding, Gpu } from '../gpu/gpu';
import { blockGrid, blockShape, keptPerBlock } from '../demo/blocks';
import { decayFactorF32 } from '../demo/integer-decode';
import { DEMO_MAX_TOPK, demoCompress, demoCompressScratchBytes, demoDctBasisBuffer } from '../kernels/demo/demo-compress';
import { DEMO_MAX_BLOCK_SIDE, demoApply, demoApplyScratchBytes, demoBasisBuffer, packDemoUpdates } from '../kernels/demo/demo-apply';
import { GRADNORM_OUT_LENGTH, gradClip, gradNorm, gradNormScratchLength } from '../kernels/gradnorm/gradnorm';
import type { GpuModel, TokenBatch } from '../model/gpu-model';
import { decodeUpdate, encodeUpdate, RUN_ID_BYTES, UPDATE_FORMAT_VERSION, type ExpectedUpdate, type UpdateTensor } from '../protocol/update-codec';

export interface DemoSettings {
  /** s: largest block side (≤ 64). */
  chunk: number;
  /** k: coefficients kept per block (≤ 64). */
  topk: number;
  /** β, the momentum decay. */
  decay: number;
  /** Global gradient-norm clip; ≤ 0 only measures the norm. */
  gradClip: number;
  /** 1-bit values on the wire (the default). */
  quantize1bit: boolean;
}

export const DEFAULT_DEMO: DemoSettings = { chunk: 64, topk: 8, decay: 0.999, gradClip: 1, quantize1bit: true };

/** What the update's header names: the run, the step and the data batches trained on. */
export interface UpdateHeader {
  runId: Uint8Array;
  step: number;
  batchStart: number;
  batchCount: number;
}

export interface ComputedUpdate {
  bytes: Uint8Array;
  loss: number;
  /** Norm before clipping. */
  gradNorm: number;
  /** Forward + backward, to the loss on the CPU. */
  forwardBackwardMs: number;
  /** Clip + compress on the GPU, readback and encodeUpdate. */
  encodeMs: number;
}

export interface AppliedUpdates {
  checksum: string;
  /** decodeUpdate of every update, packing and the apply dispatches to GPU idle. */
  decodeMs: number;
}

/** One parameter tensor's share of the flat buffers and its DeMo blocks. */
interface TensorPlan {
  name: string;
  shape: number[];
  block: number[];
  /** Kept coefficients per block, as the wire carries it. */
  k: number;
  /** f32 element offset and length in the model's flat params/grads. */
  offset: number;
  size: number;
  /** blocks·k: entries of this tensor's update. */
  entries: number;
  /** Element offset of this tensor's indices/values in the compress output buffers (256-byte aligned). */
  outOffset: number;
}

// Storage-buffer binding offsets must be multiples of 256 bytes.
const ALIGN_ELEMENTS = 64;
const align = (n: number): number => Math.ceil(n / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;
const now = (): number => performance.now();

export class DemoReplica {
  readonly settings: DemoSettings;
  private readonly gpu: Gpu;
  private readonly plans: TensorPlan[];
  private readonly expected: ExpectedUpdate;
  private readonly momentum: GPUBuffer;
  private readonly normPartials: GPUBuffer;
  private readonly normOut: GPUBuffer;
  private readonly compressScratch: GPUBuffer;
  private readonly applyScratch: GPUBuffer;
  private readonly outIndices: GPUBuffer;
  private readonly outValues: GPUBuffer;
  private readonly outElements: number;
  private readonly dctBases = new Map<number, GPUBuffer>();
  private readonly intBases = new Map<number, GPUBuffer>();
  private applyBuffers: { indices: GPUBuffer; signs: GPUBuffer; updates: number } | null = null;
  private disposed = false;

  constructor(
    readonly model: GpuModel,
    settings: Partial<DemoSettings> = {},
  ) {
    this.settings = { ...DEFAULT_DEMO, ...settings };
    const { chunk, topk } = this.settings;
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > DEMO_MAX_BLOCK_SIDE) throw new RangeError(`DemoReplica: chunk must be an integer in [1, ${DEMO_MAX_BLOCK_SIDE}], got ${chunk}`);
    if (!Number.isInteger(topk) || topk < 1 || topk > DEMO_MAX_TOPK) throw new RangeError(`DemoReplica: topk must be an integer in [1, ${DEMO_MAX_TOPK}], got ${topk}`);
    const { gpu, layout } = model.ctx;
    this.gpu = gpu;
    this.plans = planTensors(layout.slots, chunk, topk);
    this.expected = { shapes: this.plans.map((p) => p.shape), chunk, topk, quantize1bit: this.settings.quantize1bit };
    const n = layout.totalFloats;
    const largest = Math.max(...this.plans.map((p) => p.size));
    const last = this.plans[this.plans.length - 1];
    this.outElements = last.outOffset + align(last.entries);
    // Momentum δ starts at 0 (buffers are created zeroed) and shares the parameters' layout.
    this.momentum = gpu.buffer('demo.momentum', n * 4);
    this.normPartials = gpu.buffer('demo.gradnorm.partials', gradNormScratchLength(n) * 4);
    this.normOut = gpu.buffer('demo.gradnorm.out', GRADNORM_OUT_LENGTH * 4);
    // Tensors are compressed/applied one after another in one pass, so one scratch serves all.
    this.compressScratch = gpu.buffer('demo.compress.scratch', demoCompressScratchBytes(largest));
    this.applyScratch = gpu.buffer('demo.apply.scratch', demoApplyScratchBytes(largest));
    this.outIndices = gpu.buffer('demo.indices', this.outElements * 4);
    this.outValues = gpu.buffer('demo.values', this.outElements * 4);
  }

  /** The shapes, chunk and top-k an update for this model must have (the decoder's expectation). */
  get expectedUpdate(): ExpectedUpdate {
    return this.expected;
  }

  /** Bytes of the dense fp32 gradient this update replaces. */
  get denseGradientBytes(): number {
    return 4 * this.model.parameterCount;
  }

  /**
   * DESIGN.md §4 steps 2–7 on one batch: forward + backward, clip the global
   * gradient norm, then compress every tensor (one submit), read back the
   * kept indices and values and encode them. `lr` is rounded to f32.
   */
  async computeUpdate(batch: TokenBatch, lr: number, header: UpdateHeader): Promise<ComputedUpdate> {
    this.assertLive();
    const { gpu, model } = this;
    const eta = Math.fround(lr);
    const t0 = now();
    const fb = gpu.encoder('demo.forwardBackward');
    const shape = model.recordStep(fb, batch, 'grads');
    fb.submit();
    const loss = await model.readLoss(shape);
    const t1 = now();
    const rec = gpu.encoder('demo.compress');
    const n = model.ctx.layout.totalFloats;
    const grads = model.ctx.grads;
    for (const d of gradNorm(gpu, { n, grads, partials: this.normPartials, out: this.normOut, maxNorm: this.settings.gradClip })) rec.dispatch(d);
    rec.dispatch(gradClip(gpu, { n, grads, out: this.normOut }));
    for (const p of this.plans) for (const d of this.compressDispatches(p, eta)) rec.dispatch(d);
    rec.submit();
    const [[norm], indices, values] = await Promise.all([
      gpu.readF32(this.normOut, 1),
      gpu.readU32(this.outIndices, this.outElements),
      gpu.readF32(this.outValues, this.outElements),
    ]);
    const tensors: UpdateTensor[] = this.plans.map((p) => ({
      shape: p.shape,
      block: p.block,
      k: p.k,
      indices: indices.slice(p.outOffset, p.outOffset + p.entries),
      values: values.slice(p.outOffset, p.outOffset + p.entries),
    }));
    const bytes = encodeUpdate({ version: UPDATE_FORMAT_VERSION, ...header, tensors }, this.settings);
    return { bytes, loss, gradNorm: norm, forwardBackwardMs: t1 - t0, encodeMs: now() - t1 };
  }

  /**
   * DESIGN.md §4 steps 1, 8, 9: decode the round's agreed updates (throws the
   * codec's UpdateDecodeError on a malformed one, before anything changes),
   * apply them to every tensor in one submit and return the parameter checksum.
   */
  async applyAgreed(updatesBytes: Uint8Array[], lr: number, weightDecay: number): Promise<AppliedUpdates> {
    this.assertLive();
    const t0 = now();
    const decoded = updatesBytes.map((b) => decodeUpdate(b, this.expected));
    const eta = Math.fround(lr);
    const decay = decayFactorF32(eta, weightDecay);
    const M = decoded.length;
    const bufs = this.applyBuffersFor(M);
    const rec = this.gpu.encoder('demo.apply');
    this.plans.forEach((p, t) => {
      const packed = packDemoUpdates(
        decoded.map((u) => ({ indices: u.tensors[t].indices, values: Float64Array.from(u.tensors[t].values) })),
        p.shape,
        p.block,
        this.settings.topk,
      );
      const at = p.outOffset * M;
      const len = Math.max(1, M * p.entries) * 4;
      if (M > 0) {
        this.gpu.write(bufs.indices, packed.indices, at * 4);
        this.gpu.write(bufs.signs, packed.signs, at * 4);
      }
      const dispatches = demoApply(this.gpu, {
        shape: p.shape,
        block: p.block,
        k: p.k,
        updates: M,
        lr: eta,
        decay,
        param: this.slice(this.model.ctx.params, p.offset, p.size),
        indices: { buffer: bufs.indices, offset: at * 4, size: len },
        signs: { buffer: bufs.signs, offset: at * 4, size: len },
        basisRows: this.intBasis(blockGrid(p.shape, p.block).cr),
        basisCols: this.intBasis(blockGrid(p.shape, p.block).cc),
        scratch: { buffer: this.applyScratch, offset: 0, size: demoApplyScratchBytes(p.size) },
      });
      for (const d of dispatches) rec.dispatch(d);
    });
    rec.submit();
    await this.gpu.idle();
    const decodeMs = now() - t0;
    return { checksum: await this.model.checksum(), decodeMs };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const all = [this.momentum, this.normPartials, this.normOut, this.compressScratch, this.applyScratch, this.outIndices, this.outValues];
    for (const b of [...all, ...this.dctBases.values(), ...this.intBases.values()]) b.destroy();
    this.applyBuffers?.indices.destroy();
    this.applyBuffers?.signs.destroy();
  }

  private compressDispatches(p: TensorPlan, eta: number) {
    const grid = blockGrid(p.shape, p.block);
    return demoCompress(this.gpu, {
      shape: p.shape,
      block: p.block,
      k: p.k,
      quantize1bit: this.settings.quantize1bit,
      lr: eta,
      decay: this.settings.decay,
      grad: this.slice(this.model.ctx.grads, p.offset, p.size),
      momentum: this.slice(this.momentum, p.offset, p.size),
      basisRows: this.dctBasis(grid.cr),
      basisCols: this.dctBasis(grid.cc),
      indices: this.slice(this.outIndices, p.outOffset, p.entries),
      values: this.slice(this.outValues, p.outOffset, p.entries),
      scratch: { buffer: this.compressScratch, offset: 0, size: demoCompressScratchBytes(p.size) },
    });
  }

  /** Index/sign buffers laid out like the compress outputs, each tensor's region M times as long. */
  private applyBuffersFor(M: number): { indices: GPUBuffer; signs: GPUBuffer } {
    if (this.applyBuffers && this.applyBuffers.updates >= M) return this.applyBuffers;
    this.applyBuffers?.indices.destroy();
    this.applyBuffers?.signs.destroy();
    const bytes = Math.max(1, M) * this.outElements * 4;
    this.applyBuffers = { indices: this.gpu.buffer('demo.apply.indices', bytes), signs: this.gpu.buffer('demo.apply.signs', bytes), updates: Math.max(1, M) };
    return this.applyBuffers;
  }

  private slice(buffer: GPUBuffer, offset: number, size: number): Binding {
    return { buffer, offset: offset * 4, size: size * 4 };
  }

  private dctBasis(n: number): GPUBuffer {
    let b = this.dctBases.get(n);
    if (!b) this.dctBases.set(n, (b = demoDctBasisBuffer(this.gpu, n)));
    return b;
  }

  private intBasis(n: number): GPUBuffer {
    let b = this.intBases.get(n);
    if (!b) this.intBases.set(n, (b = demoBasisBuffer(this.gpu, n)));
    return b;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this DemoReplica was disposed');
  }
}

function planTensors(slots: readonly { name: string; shape: number[]; offset: number; size: number }[], chunk: number, topk: number): TensorPlan[] {
  let outOffset = 0;
  return slots.map((s) => {
    const block = blockShape(s.shape, chunk);
    const grid = blockGrid(s.shape, block);
    const k = keptPerBlock(grid.size, topk);
    const plan = { name: s.name, shape: [...s.shape], block, k, offset: s.offset, size: s.size, entries: grid.count * k, outOffset };
    outOffset += align(plan.entries);
    return plan;
  });
}

/** A fresh random run id (the coordinator's job in a real run). */
export function randomRunId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(RUN_ID_BYTES));
}

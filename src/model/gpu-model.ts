/**
 * The MLA model on the GPU: parameters and gradients in flat buffers (layout
 * in param-layout.ts), forward and backward recorded from forward.ts and
 * backward.ts, checkpoints in safetensors with Hugging Face names.
 */
import type { Gpu } from '../gpu/gpu';
import { CHECKSUM_OUT_LENGTH, checksumScratchLength, paramChecksum } from '../kernels/checksum/checksum';
import { checksumHex } from '../kernels/checksum/checksum-cpu';
import { bucketTokens } from '../kernels/embedding/embedding';
import { IGNORE_INDEX } from '../kernels/crossentropy/ignore-index';
import { recordBackward } from './backward';
import { BufferPool } from './buffer-pool';
import { exportCheckpoint, importCheckpoint } from './checkpoint';
import { hfConfigJson, modelDims, parameterSpecs, parseModelConfig, type ModelConfig, type ModelConfigInput } from './config';
import { recordForward } from './forward';
import { initParams } from './init';
import { type BatchShape, finalActs, makeRope, type ModelContext } from './model-context';
import { planLayout } from './param-layout';

export interface TokenBatch {
  /** Int32Array [batch·seqLen]. */
  inputIds: Int32Array;
  /** Int32Array [batch·seqLen]; -100 ignores a position. */
  targets?: Int32Array;
  batch: number;
  seqLen: number;
}

export class GpuModel {
  readonly ctx: ModelContext;
  private disposed = false;

  private constructor(gpu: Gpu, config: ModelConfig) {
    const layout = planLayout(parameterSpecs(config));
    this.ctx = {
      gpu,
      config,
      dims: modelDims(config),
      layout,
      params: gpu.buffer('model.params', layout.totalFloats * 4),
      grads: gpu.buffer('model.grads', layout.totalFloats * 4),
      rope: makeRope(gpu, config),
      pool: new BufferPool(gpu, 'model.act'),
    };
  }

  static fromParams(gpu: Gpu, config: ModelConfigInput, params: Map<string, Float32Array>): GpuModel {
    const model = new GpuModel(gpu, parseModelConfig(config));
    model.writeParams(params);
    return model;
  }

  /** From the flat parameter buffer as readFlatParams gave it (a tab's resume record). */
  static fromFlat(gpu: Gpu, config: ModelConfigInput, flat: Float32Array): GpuModel {
    const model = new GpuModel(gpu, parseModelConfig(config));
    try {
      model.writeFlatParams(flat);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  /** Random weights from `seed` (runs start from a served checkpoint instead: see init.ts). */
  static create(gpu: Gpu, config: ModelConfigInput, seed: number): GpuModel {
    const parsed = parseModelConfig(config);
    return GpuModel.fromParams(gpu, parsed, initParams(parsed, seed));
  }

  static fromSafetensors(gpu: Gpu, bytes: Uint8Array, config?: ModelConfigInput): GpuModel {
    const ckpt = importCheckpoint(bytes, config);
    return GpuModel.fromParams(gpu, ckpt.config, ckpt.params);
  }

  get config(): ModelConfig {
    return this.ctx.config;
  }

  get parameterCount(): number {
    return this.ctx.layout.parameterCount;
  }

  writeParams(params: Map<string, Float32Array>): void {
    const flat = new Float32Array(this.ctx.layout.totalFloats);
    for (const slot of this.ctx.layout.slots) {
      const data = params.get(slot.name);
      if (!data || data.length !== slot.size) {
        throw new Error(`writeParams: ${slot.name} needs ${slot.size} values, got ${data ? data.length : 'none'}`);
      }
      flat.set(data, slot.offset);
    }
    this.ctx.gpu.write(this.ctx.params, flat);
  }

  /** The flat parameter buffer as it is (layout gaps included): what a resume store keeps and the checksum hashes. */
  async readFlatParams(): Promise<Float32Array> {
    this.assertLive();
    return this.ctx.gpu.readF32(this.ctx.params, this.ctx.layout.totalFloats);
  }

  writeFlatParams(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== this.ctx.layout.totalFloats) throw new RangeError(`writeFlatParams: the layout holds ${this.ctx.layout.totalFloats} floats, got ${flat.length}`);
    this.ctx.gpu.write(this.ctx.params, flat);
  }

  async readParams(): Promise<Map<string, Float32Array>> {
    return this.readFlat(this.ctx.params);
  }

  async readGrads(): Promise<Map<string, Float32Array>> {
    return this.readFlat(this.ctx.grads);
  }

  /**
   * Uploads a batch and records forward (+ loss) (+ backward) into `rec`'s
   * command stream. Callers that train (src/train) add the optimizer after.
   */
  recordStep(rec: ReturnType<Gpu['encoder']>, batch: TokenBatch, mode: 'logits' | 'loss' | 'grads', accumulate = false, scale = 1): BatchShape {
    this.assertLive();
    const shape = this.uploadBatch(batch, mode !== 'logits');
    recordForward(this.ctx, rec, shape, mode !== 'logits');
    if (mode === 'grads') {
      const { offsets, positions } = this.uploadBuckets(batch.inputIds);
      recordBackward(this.ctx, rec, shape, { accumulate, scale, offsets, positions });
    }
    return shape;
  }

  async lossAndGrads(batch: TokenBatch): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
    const rec = this.ctx.gpu.encoder('model.lossAndGrads');
    const shape = this.recordStep(rec, batch, 'grads');
    rec.submit();
    const loss = await this.readLoss(shape);
    return { loss, grads: Object.fromEntries(await this.readGrads()) };
  }

  async loss(batch: TokenBatch): Promise<number> {
    const rec = this.ctx.gpu.encoder('model.loss');
    const shape = this.recordStep(rec, batch, 'loss');
    rec.submit();
    return this.readLoss(shape);
  }

  async logits(batch: TokenBatch): Promise<Float32Array> {
    const rec = this.ctx.gpu.encoder('model.logits');
    const shape = this.recordStep(rec, batch, 'logits');
    rec.submit();
    return this.ctx.gpu.readF32(finalActs(this.ctx, shape).logits, shape.B * shape.S * this.ctx.dims.V);
  }

  async readLoss(shape: BatchShape): Promise<number> {
    const [loss] = await this.ctx.gpu.readF32(finalActs(this.ctx, shape).loss, 1);
    return loss;
  }

  async toSafetensors(): Promise<Uint8Array> {
    return exportCheckpoint(this.config, await this.readParams()).safetensors;
  }

  configJson(): string {
    return JSON.stringify(hfConfigJson(this.config), null, 2) + '\n';
  }

  /**
   * 64-bit checksum of the parameter bits, computed on the GPU (integer
   * arithmetic only, so every GPU agrees; src/kernels/checksum), as 16 hex
   * digits. Replicas compare it every round; only 8 bytes come back.
   */
  async checksum(): Promise<string> {
    this.assertLive();
    const { gpu, layout, params } = this.ctx;
    const n = layout.totalFloats;
    const partials = this.ctx.pool.get('checksum.partials', checksumScratchLength(n));
    const out = this.ctx.pool.get('checksum.out', CHECKSUM_OUT_LENGTH);
    gpu.run('model.checksum', paramChecksum(gpu, { n, data: params, partials, out }));
    return checksumHex(await gpu.readU32(out, CHECKSUM_OUT_LENGTH));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ctx.params.destroy();
    this.ctx.grads.destroy();
    this.ctx.rope.cos.destroy();
    this.ctx.rope.sin.destroy();
    this.ctx.pool.dispose();
  }

  private async readFlat(buffer: GPUBuffer): Promise<Map<string, Float32Array>> {
    this.assertLive();
    const flat = await this.ctx.gpu.readF32(buffer, this.ctx.layout.totalFloats);
    const out = new Map<string, Float32Array>();
    for (const slot of this.ctx.layout.slots) out.set(slot.name, flat.slice(slot.offset, slot.offset + slot.size));
    return out;
  }

  private uploadBatch(batch: TokenBatch, withTargets: boolean): BatchShape {
    const { batch: B, seqLen: S, inputIds, targets } = batch;
    const V = this.ctx.dims.V;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(S) || S < 1) throw new RangeError(`batch and seqLen must be positive integers, got ${B}×${S}`);
    if (S > this.config.max_position_embeddings) {
      throw new RangeError(`seqLen ${S} exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    if (!(inputIds instanceof Int32Array) || inputIds.length !== B * S) throw new RangeError(`inputIds must be an Int32Array of ${B * S} ids`);
    for (let i = 0; i < inputIds.length; i++) {
      if (inputIds[i] < 0 || inputIds[i] >= V) throw new RangeError(`inputIds[${i}] = ${inputIds[i]} is outside the vocabulary [0, ${V})`);
    }
    const shape = { B, S };
    const fin = finalActs(this.ctx, shape);
    this.ctx.gpu.write(fin.ids, inputIds);
    if (withTargets) {
      if (!(targets instanceof Int32Array) || targets.length !== B * S) throw new RangeError(`targets must be an Int32Array of ${B * S} ids`);
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i];
        if (t !== IGNORE_INDEX && (t < 0 || t >= V)) throw new RangeError(`targets[${i}] = ${t} is neither ${IGNORE_INDEX} nor in [0, ${V})`);
      }
      this.ctx.gpu.write(fin.targets, targets);
    }
    return shape;
  }

  private uploadBuckets(ids: Int32Array): { offsets: GPUBuffer; positions: GPUBuffer } {
    const V = this.ctx.dims.V;
    const buckets = bucketTokens(ids, V);
    const offsets = this.ctx.pool.get('emb.offsets', V + 1);
    const positions = this.ctx.pool.get('emb.positions', ids.length);
    this.ctx.gpu.write(offsets, buckets.offsets);
    this.ctx.gpu.write(positions, buckets.positions);
    return { offsets, positions };
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this model was disposed');
  }
}


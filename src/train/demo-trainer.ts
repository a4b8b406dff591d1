/**
 * One DeMo replica (docs/design.md §4): forward + backward, global-norm clipping
 * and compression of every tensor on the GPU, the update leaving as codec
 * bytes; then the round's agreed updates, decoded from bytes, applied with
 * the exact integer decode so that every replica lands on the same parameter
 * bits. Compress and apply each run as a fixed handful of dispatches over all
 * tensors at once (the tensor table of src/kernels/demo/demo-table.ts).
 */
import { allocatedBytes, type Gpu, type Recorder } from '../gpu/gpu';
import { decayFactorF32 } from '../demo/integer-decode';
import { demoCompress, demoCompressScratchBytes, demoDctBasisBuffer } from '../kernels/demo/demo-compress';
import { demoApply, demoApplyScratchBytes, demoBasisBuffer, packDemoUpdates } from '../kernels/demo/demo-apply';
import { demoTableBuffer } from '../kernels/demo/demo-layout';
import { demoTable, type DemoTable } from '../kernels/demo/demo-table';
import { CHECKSUM_OUT_LENGTH, checksumScratchLength, paramChecksum } from '../kernels/checksum/checksum';
import { checksumHex } from '../kernels/checksum/checksum-cpu';
import { GRADNORM_OUT_LENGTH, gradClip, gradNorm, gradNormScratchLength } from '../kernels/gradnorm/gradnorm';
import type { GpuModel, TokenBatch } from '../model/gpu-model';
import { finalActs } from '../model/model-context';
import { gradSketch, gradSketchScratchLength, SKETCH_ROWS, sketchSeed } from '../kernels/sketch/grad-sketch';
import { decodeUpdate, encodeUpdate, PROOF_ROWS, proofUnits, RUN_ID_BYTES, unitSizeFor, UPDATE_FORMAT_VERSION, type ExpectedUpdate, type UpdateTensor } from '../protocol/update-codec';

if (SKETCH_ROWS !== PROOF_ROWS) throw new Error(`the sketch kernel has ${SKETCH_ROWS} rows, the update format ${PROOF_ROWS}`);

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

/**
 * What the update's header names: the run, the step and the range assigned
 * (batchCount sequences from batchStart: the cap of a time-boxed round, the
 * whole range otherwise).
 */
export interface UpdateHeader {
  runId: Uint8Array;
  step: number;
  batchStart: number;
  batchCount: number;
}

export interface ComputedUpdate {
  bytes: Uint8Array;
  /** Sequences trained from the range's start, ≥ 1: all of them unless a deadline stopped the training (the encoded batch count). */
  count: number;
  /** Mean loss over the sequences trained. */
  loss: number;
  /** Norm of the mean gradient before clipping. */
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

const now = (): number => performance.now();

export class DemoReplica {
  readonly settings: DemoSettings;
  private readonly gpu: Gpu;
  /** Every parameter tensor in the model's flat layout, in slot order (the wire's tensor order). */
  private readonly table: DemoTable;
  private readonly expected: ExpectedUpdate;
  private readonly buffers: GPUBuffer[];
  private readonly tableBuffer: GPUBuffer;
  private readonly momentum: GPUBuffer;
  private readonly normPartials: GPUBuffer;
  private readonly normOut: GPUBuffer;
  /** Two per-element scratch buffers; compress (f32) and apply (i32) take turns on them. */
  private readonly scratch: [GPUBuffer, GPUBuffer];
  private readonly dctBasis: GPUBuffer;
  private readonly intBasis: GPUBuffer;
  private readonly outIndices: GPUBuffer;
  private readonly outValues: GPUBuffer;
  private applyBuffers: { indices: GPUBuffer; signs: GPUBuffer; updates: number } | null = null;
  private readonly sketchPartials: GPUBuffer;
  /** Per sequence of the batch its loss, per proof unit the sketch of the accumulated gradient after it (grown with the batch). */
  private sequenceBuffers: { losses: GPUBuffer; sketches: GPUBuffer; sequences: number } | null = null;
  /** The parameters saved by withTrialUpdate (created on first use). */
  private paramsBackup: GPUBuffer | null = null;
  private disposed = false;
  private micro = 1;

  constructor(
    readonly model: GpuModel,
    settings: Partial<DemoSettings> = {},
  ) {
    this.settings = { ...DEFAULT_DEMO, ...settings };
    const { chunk, topk } = this.settings;
    const { gpu, layout } = model.ctx;
    this.gpu = gpu;
    // demoTable checks chunk and topk against the kernels' limits.
    this.table = demoTable(layout.slots, chunk, topk);
    this.expected = { shapes: this.table.tensors.map((t) => t.shape), chunk, topk, quantize1bit: this.settings.quantize1bit };
    const size = demoBufferBytes(this.table, layout.totalFloats);
    // Momentum δ starts at 0 (buffers are created zeroed) and shares the parameters' layout.
    this.momentum = gpu.buffer('demo.momentum', size.momentum);
    this.normPartials = gpu.buffer('demo.gradnorm.partials', size.normPartials);
    this.normOut = gpu.buffer('demo.gradnorm.out', size.normOut);
    this.scratch = [gpu.buffer('demo.scratch.0', size.scratch / 2), gpu.buffer('demo.scratch.1', size.scratch / 2)];
    this.tableBuffer = demoTableBuffer(gpu, this.table);
    this.dctBasis = demoDctBasisBuffer(gpu, this.table);
    this.intBasis = demoBasisBuffer(gpu, this.table);
    this.outIndices = gpu.buffer('demo.indices', size.kept / 2);
    this.outValues = gpu.buffer('demo.values', size.kept / 2);
    this.sketchPartials = gpu.buffer('demo.sketch.partials', size.sketchPartials);
    this.buffers = [this.momentum, this.normPartials, this.normOut, ...this.scratch, this.tableBuffer, this.dctBasis, this.intBasis, this.outIndices, this.outValues, this.sketchPartials];
  }

  /** Sequences per forward/backward (src/train/memory-plan.ts picks it from the tab's memory); 1 by default. */
  get microBatch(): number {
    return this.micro;
  }

  set microBatch(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`microBatch must be a positive integer, got ${k}`);
    this.micro = k;
  }

  /** The shapes, chunk and top-k an update for this model must have (the decoder's expectation). */
  get expectedUpdate(): ExpectedUpdate {
    return this.expected;
  }

  /** DeMo's momentum δ (the parameters' flat layout): a resume store keeps it so a reload does not restart it at zero. */
  async readMomentum(): Promise<Float32Array> {
    this.assertLive();
    return this.gpu.readF32(this.momentum, this.model.ctx.layout.totalFloats);
  }

  writeMomentum(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== this.model.ctx.layout.totalFloats) throw new RangeError(`writeMomentum: the layout holds ${this.model.ctx.layout.totalFloats} floats, got ${flat.length}`);
    this.gpu.write(this.momentum, flat);
  }

  /** Bytes of the buffers this replica keeps for its life (the memory plan's DeMo part, checked against it). */
  get fixedBufferBytes(): number {
    return this.buffers.reduce((a, b) => a + b.size, 0);
  }

  /** Bytes of the dense fp32 gradient this update replaces. */
  get denseGradientBytes(): number {
    return 4 * this.model.parameterCount;
  }

  /**
   * docs/design.md §4 steps 2–7 on one batch: forward + backward in micro-batches
   * of `microBatch` sequences, the gradients accumulated and each proof unit's sketched on the
   * way (the update's proofs, src/verify/sequence-proof.ts), clip the global
   * gradient norm, then compress every tensor (one submit, five compress
   * dispatches), read back all kept indices and values at once and encode
   * them. `lr` is rounded to f32.
   *
   * `batch` holds the assigned range, header.batchCount sequences. With
   * `until` (a Date.now() time, ms) the range is a cap (docs/design.md §11):
   * training stops soon after the deadline passes (accumulateSequences says
   * how soon; at least one micro-batch trains) and the update covers the b
   * sequences reached, its units laid out from the cap (unitSizeFor(cap)),
   * the last one cut at b. Its step is the same as a full update's of those b
   * sequences: lr times the clipped mean gradient.
   */
  async computeUpdate(batch: TokenBatch, lr: number, header: UpdateHeader, until?: number): Promise<ComputedUpdate> {
    this.assertLive();
    if (batch.batch !== header.batchCount) throw new RangeError(`computeUpdate: the header names ${header.batchCount} sequences, the batch holds ${batch.batch}`);
    const { gpu, model, table } = this;
    const t0 = now();
    const { count, unitSize, loss, proof } = await this.accumulateSequences(batch, header.step, until);
    const t1 = now();
    // The gradient buffer holds the sum G over the b sequences trained, not
    // their mean (b was not known while they were summed). Clipping G at
    // b·gradClip gives b times the clipped mean, and a learning rate of η/b
    // (lr enters the compress kernel only as the momentum's η·g) takes the
    // same step a mean would, with no kernel of its own to divide by b.
    const eta = Math.fround(Math.fround(lr) / count);
    const clip = this.settings.gradClip;
    const rec = gpu.encoder('demo.compress');
    const n = model.ctx.layout.totalFloats;
    const grads = model.ctx.grads;
    for (const d of gradNorm(gpu, { n, grads, partials: this.normPartials, out: this.normOut, maxNorm: clip > 0 ? clip * count : clip })) rec.dispatch(d);
    rec.dispatch(gradClip(gpu, { n, grads, out: this.normOut }));
    const compress = demoCompress(gpu, {
      table,
      tableBuffer: this.tableBuffer,
      quantize1bit: this.settings.quantize1bit,
      lr: eta,
      decay: this.settings.decay,
      grad: grads,
      momentum: this.momentum,
      basis: this.dctBasis,
      indices: this.outIndices,
      values: this.outValues,
      scratch: this.scratch,
    });
    for (const d of compress) rec.dispatch(d);
    rec.submit();
    const [[norm], indices, values] = await Promise.all([
      gpu.readF32(this.normOut, 1),
      gpu.readU32(this.outIndices, table.entries),
      gpu.readF32(this.outValues, table.entries),
    ]);
    // Views into the one readback: encodeUpdate only reads them.
    const tensors: UpdateTensor[] = table.tensors.map((t) => ({
      shape: t.shape,
      block: t.block,
      k: t.k,
      indices: indices.subarray(t.out, t.out + t.entries),
      values: values.subarray(t.out, t.out + t.entries),
    }));
    const bytes = encodeUpdate({ version: UPDATE_FORMAT_VERSION, ...header, batchCount: count, unitSize, tensors, proof }, this.settings);
    return { bytes, count, loss, gradNorm: norm / count, forwardBackwardMs: t1 - t0, encodeMs: now() - t1 };
  }

  /**
   * The summed gradient of the batch's first b sequences (in the gradient
   * buffer) and their mean loss: b is the whole batch without `until`, else
   * as far as training got by then (computeUpdate). Micro-batches of at most
   * `microBatch` sequences never cross a proof unit (unitSize from the whole
   * batch, src/verify/sequence-proof.ts unitRange), each its own submit: the
   * batch upload is a queue write, so micro-batches recorded into one encoder
   * would all read the last one. A micro-batch of k sequences adds k times
   * its mean-loss gradient, so the buffer holds the sum over the sequences
   * so far whenever training stops. Each one's loss is copied out, and at the
   * end of each unit, and where training stopped inside one, the accumulated
   * gradient is sketched; consecutive sketches differ by that unit's summed
   * gradient (sketches are linear), which is the proof a verifier recomputes.
   *
   * Submits return before the GPU has done the work, so the clock says
   * nothing of progress at a submit. With a deadline, one micro-batch stays
   * queued ahead: after submitting micro-batch j it waits for j − 1 to finish
   * and then reads the clock, so the GPU never idles for the wait. The next
   * micro-batch is cut to the sequences that fit before the deadline after
   * the queued one, at the pace measured so far, and none is submitted when
   * none fits. Without a deadline nothing waits.
   */
  private async accumulateSequences(batch: TokenBatch, step: number, until?: number): Promise<{ count: number; unitSize: number; loss: number; proof: Float32Array }> {
    const { gpu, model } = this;
    const cap = batch.batch;
    const n = model.ctx.layout.totalFloats;
    const unitSize = unitSizeFor(cap);
    const bufs = this.sequenceBuffersFor(cap);
    const seed = sketchSeed(step);
    const sketch = (rec: Recorder, unit: number): void => {
      for (const d of gradSketch(gpu, { n, grads: model.ctx.grads, partials: this.sketchPartials, out: bufs.sketches, outOffset: unit * SKETCH_ROWS, seed })) rec.dispatch(d);
    };
    const weights: number[] = [];
    let trained = 0;
    let previous: Promise<void> | null = null;
    // With a deadline: sequences known done, those queued behind them, and when the first was submitted (the pace so far).
    let done = 0;
    let queued = 0;
    const started = Date.now();
    while (trained < cap) {
      const unit = Math.floor(trained / unitSize);
      const unitEnd = Math.min((unit + 1) * unitSize, cap);
      let k = Math.min(this.microBatch, unitEnd - trained);
      if (until !== undefined && done > 0) {
        // Near the deadline, micro-batches shrink to what fits after the queued one at the pace so far, so the
        // training ends within about half a sequence of it rather than up to a whole micro-batch after.
        const msPerSequence = (Date.now() - started) / done;
        const fits = Math.round((until - Date.now()) / msPerSequence - queued);
        if (fits <= 0) break;
        k = Math.min(k, fits);
      }
      const rec = gpu.encoder('demo.microbatch');
      const shape = model.recordStep(rec, sequencesOf(batch, trained, k), 'grads', trained > 0, k);
      rec.copy(finalActs(model.ctx, shape).loss, bufs.losses, 4, 0, 4 * weights.length);
      weights.push(k);
      trained += k;
      if (trained === unitEnd) sketch(rec, unit);
      rec.submit();
      if (until === undefined || trained === cap) continue;
      const submitted = gpu.idle();
      if (previous) {
        await previous;
        done = trained - k;
      }
      queued = k;
      previous = submitted;
      if (Date.now() >= until) break;
    }
    if (trained % unitSize !== 0 && trained < cap) {
      const rec = gpu.encoder('demo.sketch.stop');
      sketch(rec, Math.floor(trained / unitSize));
      rec.submit();
    }
    // Done by now or soon (the readbacks wait for it anyway); awaited so that a lost device's rejection is not left unhandled.
    await previous;
    const units = proofUnits(trained, unitSize);
    const [losses, sketches] = await Promise.all([gpu.readF32(bufs.losses, weights.length), gpu.readF32(bufs.sketches, units * SKETCH_ROWS)]);
    const proof = new Float32Array(units * SKETCH_ROWS);
    for (let i = 0; i < proof.length; i++) proof[i] = sketches[i] - (i >= SKETCH_ROWS ? sketches[i - SKETCH_ROWS] : 0);
    return { count: trained, unitSize, loss: weights.reduce((a, k, j) => a + k * losses[j], 0) / trained, proof };
  }

  /**
   * For verifiers (src/verify/sequence-proof.ts): the sketch of the summed
   * gradients of `unit`'s sequences on the current parameters, as
   * computeUpdate's proof has it (micro-batches of k sequences, each adding
   * k times its mean-loss gradient). Touches only the gradient and sketch
   * scratch buffers.
   */
  async unitSketch(unit: TokenBatch, step: number): Promise<Float32Array> {
    this.assertLive();
    const { gpu, model } = this;
    const bufs = this.sequenceBuffersFor(unit.batch);
    for (let i = 0; i < unit.batch; i += this.microBatch) {
      const k = Math.min(this.microBatch, unit.batch - i);
      const rec = gpu.encoder('verify.microbatch');
      model.recordStep(rec, sequencesOf(unit, i, k), 'grads', i > 0, k);
      if (i + k === unit.batch) {
        for (const d of gradSketch(gpu, { n: model.ctx.layout.totalFloats, grads: model.ctx.grads, partials: this.sketchPartials, out: bufs.sketches, outOffset: 0, seed: sketchSeed(step) })) rec.dispatch(d);
      }
      rec.submit();
    }
    return gpu.readF32(bufs.sketches, SKETCH_ROWS);
  }

  /**
   * docs/design.md §4 steps 1, 8, 9: decode the round's agreed updates (throws the
   * codec's UpdateDecodeError on a malformed one, before anything changes),
   * pack them all into the apply buffers (one write each), apply them to
   * every tensor in one submit of three dispatches and return the parameter
   * checksum.
   */
  async applyAgreed(updatesBytes: Uint8Array[], lr: number, weightDecay: number): Promise<AppliedUpdates> {
    this.assertLive();
    const t0 = now();
    const decoded = updatesBytes.map((b) => decodeUpdate(b, this.expected));
    const eta = Math.fround(lr);
    const decay = decayFactorF32(eta, weightDecay);
    // Validates every tensor of every update (±1 values included) before any GPU write.
    const packed = packDemoUpdates(this.table, decoded.map((u) => u.tensors));
    const M = decoded.length;
    const bufs = this.applyBuffersFor(M);
    if (M > 0) {
      this.gpu.write(bufs.indices, packed.indices);
      this.gpu.write(bufs.signs, packed.signs);
    }
    this.gpu.run(
      'demo.apply',
      demoApply(this.gpu, {
        table: this.table,
        tableBuffer: this.tableBuffer,
        updates: M,
        lr: eta,
        decay,
        param: this.model.ctx.params,
        indices: bufs.indices,
        signs: bufs.signs,
        basis: this.intBasis,
        scratch: this.scratch,
      }),
    );
    await this.gpu.idle();
    const decodeMs = now() - t0;
    return { checksum: await this.model.checksum(), decodeMs };
  }

  /**
   * For verifiers (src/verify): forward + backward on `batch` and the same
   * global-norm clip as computeUpdate, read back as one flat Float32Array in
   * the model's layout. Touches only the gradient and norm scratch buffers
   * (which computeUpdate overwrites before use): parameters and momentum are
   * left as they were.
   */
  async clippedGradient(batch: TokenBatch): Promise<{ loss: number; gradNorm: number; grads: Float32Array }> {
    this.assertLive();
    const { gpu, model } = this;
    const n = model.ctx.layout.totalFloats;
    const grads = model.ctx.grads;
    const rec = gpu.encoder('verify.gradient');
    const shape = model.recordStep(rec, batch, 'grads');
    for (const d of gradNorm(gpu, { n, grads, partials: this.normPartials, out: this.normOut, maxNorm: this.settings.gradClip })) rec.dispatch(d);
    rec.dispatch(gradClip(gpu, { n, grads, out: this.normOut }));
    rec.submit();
    const [loss, [norm], flat] = await Promise.all([model.readLoss(shape), gpu.readF32(this.normOut, 1), gpu.readF32(grads, n)]);
    return { loss, gradNorm: norm, grads: flat };
  }

  /**
   * For verifiers: applies one update alone (the exact decode and the real
   * apply kernels, no weight decay, `lr` rounded to f32), runs `measure` on
   * the changed parameters, then copies the saved parameters back, so they
   * end bit-identical to before whatever `measure` does or throws. Momentum
   * is never touched. Throws UpdateDecodeError before any change for a
   * malformed update.
   */
  async withTrialUpdate<T>(updateBytes: Uint8Array, lr: number, measure: () => Promise<T>): Promise<T> {
    this.assertLive();
    const decoded = decodeUpdate(updateBytes, this.expected);
    const packed = packDemoUpdates(this.table, [decoded.tensors]);
    const eta = Math.fround(lr);
    const { gpu } = this;
    const params = this.model.ctx.params;
    const bytes = this.model.ctx.layout.totalFloats * 4;
    this.paramsBackup ??= gpu.buffer('verify.params.backup', bytes);
    const backup = this.paramsBackup;
    gpu.encoder('verify.save').copy(params, backup, bytes).submit();
    try {
      const bufs = this.applyBuffersFor(1);
      gpu.write(bufs.indices, packed.indices);
      gpu.write(bufs.signs, packed.signs);
      gpu.run(
        'verify.trialApply',
        demoApply(gpu, {
          table: this.table,
          tableBuffer: this.tableBuffer,
          updates: 1,
          lr: eta,
          decay: decayFactorF32(eta, 0),
          param: params,
          indices: bufs.indices,
          signs: bufs.signs,
          basis: this.intBasis,
          scratch: this.scratch,
        }),
      );
      return await measure();
    } finally {
      gpu.encoder('verify.restore').copy(backup, params, bytes).submit();
      await gpu.idle();
    }
  }

  /** Checksums of the parameters and of the momentum (tests: verification must change neither). */
  async stateChecksums(): Promise<{ params: string; momentum: string }> {
    this.assertLive();
    const { gpu, model } = this;
    const n = model.ctx.layout.totalFloats;
    const partials = model.ctx.pool.get('checksum.partials', checksumScratchLength(n));
    const out = model.ctx.pool.get('checksum.out', CHECKSUM_OUT_LENGTH);
    gpu.run('demo.momentum.checksum', paramChecksum(gpu, { n, data: this.momentum, partials, out }));
    const momentum = checksumHex(await gpu.readU32(out, CHECKSUM_OUT_LENGTH));
    return { params: await model.checksum(), momentum };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.buffers) b.destroy();
    this.applyBuffers?.indices.destroy();
    this.applyBuffers?.signs.destroy();
    this.paramsBackup?.destroy();
    this.sequenceBuffers?.losses.destroy();
    this.sequenceBuffers?.sketches.destroy();
  }

  private sequenceBuffersFor(B: number): { losses: GPUBuffer; sketches: GPUBuffer } {
    if (this.sequenceBuffers && this.sequenceBuffers.sequences >= B) return this.sequenceBuffers;
    this.sequenceBuffers?.losses.destroy();
    this.sequenceBuffers?.sketches.destroy();
    this.sequenceBuffers = {
      losses: this.gpu.buffer('demo.sequence.losses', B * 4),
      sketches: this.gpu.buffer('demo.sequence.sketches', B * SKETCH_ROWS * 4),
      sequences: B,
    };
    return this.sequenceBuffers;
  }

  /** Index/sign buffers [M, table.entries], grown when a round has more updates than any before. */
  private applyBuffersFor(M: number): { indices: GPUBuffer; signs: GPUBuffer } {
    if (this.applyBuffers && this.applyBuffers.updates >= M) return this.applyBuffers;
    this.applyBuffers?.indices.destroy();
    this.applyBuffers?.signs.destroy();
    const updates = Math.max(1, M);
    const bytes = updates * this.table.entries * 4;
    this.applyBuffers = { indices: this.gpu.buffer('demo.apply.indices', bytes), signs: this.gpu.buffer('demo.apply.signs', bytes), updates };
    return this.applyBuffers;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('this DemoReplica was disposed');
  }
}

/**
 * Bytes of the buffers a DemoReplica keeps for its whole life (the memory
 * plan counts them; the constructor allocates by them), as allocated.
 * `scratch` and `kept` are two buffers each; table and bases are uploads of
 * these sizes.
 */
export function demoBufferBytes(table: DemoTable, n: number) {
  const a = allocatedBytes;
  return {
    momentum: a(n * 4),
    normPartials: a(gradNormScratchLength(n) * 4),
    normOut: a(GRADNORM_OUT_LENGTH * 4),
    scratch: 2 * a(Math.max(demoCompressScratchBytes(table), demoApplyScratchBytes(table))),
    tables: a(table.records.byteLength) + 2 * a(table.basisLength * 4),
    kept: 2 * a(table.entries * 4),
    sketchPartials: a(gradSketchScratchLength(n) * 4),
  };
}

/** Bytes of the per-round buffers: apply's indices and signs for `updates` agreed updates, and per-sequence losses and sketches. */
export function demoRoundBytes(table: DemoTable, updates: number, sequences: number): number {
  return 2 * Math.max(1, updates) * table.entries * 4 + sequences * 4 + sequences * SKETCH_ROWS * 4;
}

/** Sequence i of a batch, as a batch of one (views, no copy). */
export function sequenceOf(batch: TokenBatch, i: number): TokenBatch {
  return sequencesOf(batch, i, 1);
}

/** Sequences [i, i + k) of a batch, as a batch of k (views, no copy). */
export function sequencesOf(batch: TokenBatch, i: number, k: number): TokenBatch {
  const S = batch.seqLen;
  const at = (a: Int32Array) => a.subarray(i * S, (i + k) * S);
  return { inputIds: at(batch.inputIds), targets: batch.targets && at(batch.targets), batch: k, seqLen: S };
}

/** A fresh random run id (the coordinator's job in a real run). */
export function randomRunId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(RUN_ID_BYTES));
}

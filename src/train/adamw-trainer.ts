/**
 * One-tab training with AdamW: forward, backward, global-norm clipping and the
 * optimizer step recorded into a single submit per step. Only the loss and the
 * gradient norm come back to the CPU.
 */
import { adamw } from '../kernels/adamw/adamw';
import { GRADNORM_OUT_LENGTH, gradNorm, gradNormScratchLength } from '../kernels/gradnorm/gradnorm';
import type { GpuModel, TokenBatch } from '../model/gpu-model';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; ≤ 0 disables clipping. */
  gradClip: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 };

export interface StepResult {
  loss: number;
  /** Norm before clipping. */
  gradNorm: number;
}

export class AdamWTrainer {
  private readonly expAvg: GPUBuffer;
  private readonly expAvgSq: GPUBuffer;
  private readonly partials: GPUBuffer;
  private readonly normOut: GPUBuffer;
  private readonly n: number;
  step = 0;

  constructor(
    readonly model: GpuModel,
    readonly settings: AdamWSettings = DEFAULT_ADAMW,
  ) {
    const { gpu, layout } = model.ctx;
    this.n = layout.totalFloats;
    this.expAvg = gpu.buffer('adamw.exp_avg', this.n * 4);
    this.expAvgSq = gpu.buffer('adamw.exp_avg_sq', this.n * 4);
    this.partials = gpu.buffer('gradnorm.partials', gradNormScratchLength(this.n) * 4);
    this.normOut = gpu.buffer('gradnorm.out', GRADNORM_OUT_LENGTH * 4);
  }

  /** Trains on one batch with learning rate `lr`. */
  async train(batch: TokenBatch, lr: number): Promise<StepResult> {
    const { gpu } = this.model.ctx;
    this.step++;
    const rec = gpu.encoder(`train.step${this.step}`);
    const shape = this.model.recordStep(rec, batch, 'grads');
    for (const d of gradNorm(gpu, { n: this.n, grads: this.model.ctx.grads, partials: this.partials, out: this.normOut, maxNorm: this.settings.gradClip })) {
      rec.dispatch(d);
    }
    rec.dispatch(
      adamw(gpu, {
        n: this.n,
        param: this.model.ctx.params,
        grad: this.model.ctx.grads,
        expAvg: this.expAvg,
        expAvgSq: this.expAvgSq,
        clip: this.normOut,
        lr,
        beta1: this.settings.beta1,
        beta2: this.settings.beta2,
        eps: this.settings.eps,
        weightDecay: this.settings.weightDecay,
        step: this.step,
      }),
    );
    rec.submit();
    const [loss, [norm]] = await Promise.all([this.model.readLoss(shape), gpu.readF32(this.normOut, 1)]);
    return { loss, gradNorm: norm };
  }

  dispose(): void {
    for (const b of [this.expAvg, this.expAvgSq, this.partials, this.normOut]) b.destroy();
  }
}

/**
 * AdamW's hyperparameters for one step, in PyTorch's names and meaning
 * (torch.optim.AdamW), shared by the GPU step and its float64 reference so
 * the two are always driven by the same settings.
 */
export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based count of steps taken including this one. */
  step: number;
}

/**
 * Learning-rate schedules. Warmup-stable-decay (Psyche's default): linear
 * warmup, a long constant phase, then a linear decay to `minFactor`·lr over
 * the last `decayFraction` of the steps. With totalSteps = 0 (train until
 * stopped) only the warmup applies; with warmupSteps 0 too, lr is constant.
 */
export interface WsdSchedule {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  decayFraction: number;
  minFactor: number;
}

export function wsdLearningRate(s: WsdSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.totalSteps <= 0) return s.lr;
  const decayStart = Math.floor(s.totalSteps * (1 - s.decayFraction));
  if (step < decayStart) return s.lr;
  const t = Math.min(1, (step - decayStart) / Math.max(1, s.totalSteps - decayStart));
  return s.lr * (1 - t * (1 - s.minFactor));
}

/** Linear warmup, then cosine decay from lr to minFactor·lr at totalSteps (held there after). */
export function cosineLearningRate(s: { lr: number; warmupSteps: number; totalSteps: number; minFactor: number }, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / span);
  return s.lr * (s.minFactor + (1 - s.minFactor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export type ScheduleName = 'constant' | 'cosine' | 'wsd';

export interface LearningRateSchedule {
  schedule: ScheduleName;
  peak: number;
  warmupSteps: number;
  /** wsd only. */
  decayFraction: number;
  /** cosine and wsd: the final lr as a fraction of the peak. */
  minFactor: number;
}

/** η at `step` of a run of `totalSteps` (0 = until stopped: no decay). Constant still warms up. */
export function scheduledLearningRate(s: LearningRateSchedule, totalSteps: number, step: number): number {
  const { peak: lr, warmupSteps, decayFraction, minFactor } = s;
  switch (s.schedule) {
    case 'constant':
      return wsdLearningRate({ lr, warmupSteps, totalSteps: 0, decayFraction, minFactor }, step);
    case 'cosine':
      return cosineLearningRate({ lr, warmupSteps, totalSteps, minFactor }, step);
    case 'wsd':
      return wsdLearningRate({ lr, warmupSteps, totalSteps, decayFraction, minFactor }, step);
  }
}

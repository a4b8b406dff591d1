/**
 * Messages between the page and the training worker. Both sides validate what
 * they receive: a worker is a boundary like any other.
 */
import { z } from 'zod';

export const TrainSettingsSchema = z.object({
  /** A preset name from src/model/config.ts (e.g. 'tiny', 'small'). */
  preset: z.string().min(1),
  /** Dataset folder under /data (e.g. 'austen-byte'). */
  dataset: z.string().regex(/^[a-z0-9-]+$/, 'dataset must be a folder name under /data'),
  batchSize: z.number().int().min(1).max(256),
  seqLen: z.number().int().min(2).max(4096),
  lr: z.number().positive().max(1),
  weightDecay: z.number().min(0).max(1).default(0.1),
  gradClip: z.number().positive().default(1),
  /** Stop after this many steps (0 = until stopped). */
  steps: z.number().int().min(0).default(0),
  seed: z.number().int().default(1),
  /** Fraction of wall time the GPU may be busy, 0.05–1 (a volunteer's usage cap). */
  duty: z.number().min(0.05).max(1).default(1),
});
export type TrainSettings = z.infer<typeof TrainSettingsSchema>;

export const ToWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), settings: TrainSettingsSchema }),
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('duty'), duty: z.number().min(0.05).max(1) }),
]);
export type ToWorker = z.infer<typeof ToWorkerSchema>;

export const StepReportSchema = z.object({
  step: z.number().int(),
  loss: z.number(),
  tokens: z.number().int(),
  tokensPerSec: z.number(),
  stepMs: z.number(),
  gradNorm: z.number(),
  lr: z.number(),
  /** Per-kernel GPU time of this step, when the adapter has timestamp queries. */
  profile: z.array(z.object({ label: z.string(), ms: z.number(), count: z.number().int() })).optional(),
});
export type StepReport = z.infer<typeof StepReportSchema>;

export const FromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('status'), message: z.string() }),
  z.object({ type: z.literal('started'), parameters: z.number().int(), adapter: z.string() }),
  z.object({ type: z.literal('step'), report: StepReportSchema }),
  z.object({ type: z.literal('stopped'), reason: z.string() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type FromWorker = z.infer<typeof FromWorkerSchema>;

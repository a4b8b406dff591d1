/**
 * Messages between the page and the run worker (src/train/run-worker.ts).
 * The page keeps the socket and the peer mesh (RTCPeerConnection does not
 * exist in workers); the worker owns the GPU: the model, DeMo and the data.
 * Requests carry an id and are answered in order, one at a time, so an apply
 * and a train never interleave. Both sides validate what they receive.
 */
import { z } from 'zod';
import { datasetSchema } from '../data/dataset-ref';
import { modelConfigSchema } from '../model/config';

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');
const u32 = z.number().int().min(0).max(0xffff_ffff);

export const runOptimizerSchema = z
  .object({
    chunk: z.number().int().min(1).max(64),
    topk: z.number().int().min(1).max(64),
    decay: z.number().min(0).max(1),
    gradClip: z.number().min(0),
    quantize1bit: z.boolean(),
  })
  .strict();

const byteCount = z.number().int().min(0);

/** A tab's memory plan (src/train/memory-plan.ts planMemory makes it). */
export const memoryPlanSchema = z
  .object({
    fits: z.boolean(),
    /** Sequences per forward/backward; 0 when the model does not fit. */
    microBatch: z.number().int().min(0),
    /** Why it does not fit, with the sizes; null when it does. */
    reason: z.string().nullable(),
    budget: byteCount,
    bytes: z
      .object({
        weights: byteCount,
        gradients: byteCount,
        /** DeMo's momentum (one float per parameter). */
        momentum: byteCount,
        /** DeMo's scratch, tables and kept-coefficient buffers, a round's apply buffers, and the RoPE tables. */
        demo: byteCount,
        /** Activations and their gradients for one sequence, and for the planned micro-batch. */
        activationsPerSequence: byteCount,
        activations: byteCount,
        total: byteCount,
      })
      .strict(),
  })
  .strict();
export type MemoryPlan = z.infer<typeof memoryPlanSchema>;

/** What a replica is made of, whether from a checkpoint or from a resume record. */
const replicaFields = {
  /** The run's resolved model config (run-config.ts runModelSchema). */
  model: modelConfigSchema,
  /** A shipped dataset's name or its folder's URL (src/data/dataset-ref.ts), as the run config resolved it. */
  dataset: datasetSchema,
  seqLen: z.number().int().min(2).max(4096),
  optimizer: runOptimizerSchema,
  /** 32 hex chars. */
  runId: z.string().regex(/^[0-9a-f]{32}$/),
  /** Sequences per forward/backward, from the memory plan. */
  microBatch: z.number().int().min(1).max(4096),
};

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const checksum = z.string().regex(/^[0-9a-f]{16}$/);

/** What the worker's resume saves cost so far (src/train/save-cadence.ts). */
export const saveStatsSchema = z
  .object({ saves: z.number().int().min(0), skipped: z.number().int().min(0), savedStep: z.number().int().min(-1), readMs: z.number().min(0), putMs: z.number().min(0) })
  .strict();
export type SaveStatsView = z.infer<typeof saveStatsSchema>;

export const ToRunWorkerSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('plan'),
      id: u32,
      /** The run's resolved model config. */
      model: modelConfigSchema,
      seqLen: z.number().int().min(2).max(4096),
      optimizer: runOptimizerSchema,
      /** The run's largest global batch: most sequences and most agreed updates a round can bring. */
      maxSequences: z.number().int().min(1),
      /** The GPU memory this tab may use (the volunteer's setting). */
      budget: z.number().int().min(1),
    })
    .strict(),
  z
    .object({
      type: z.literal('load'),
      id: u32,
      ...replicaFields,
      /** The epoch checkpoint (safetensors). Loading replaces the model, zeroes the momentum and forgets the resume record. */
      checkpoint: bytes,
      /** The checkpoint's step: the first round its parameters have not seen. */
      step: u32,
    })
    .strict(),
  /** The resume record of this run and model (src/train/resume-store.ts), if this tab has one: loaded instead of a checkpoint. */
  z
    .object({
      type: z.literal('resume'),
      id: u32,
      ...replicaFields,
    })
    .strict(),
  z
    .object({
      type: z.literal('apply'),
      id: u32,
      step: u32,
      /** The round's agreed updates, in slot order (the result does not depend on it). */
      updates: z.array(bytes).max(4096),
      /** Their hashes, in the same order: the resume record names what was applied. */
      hashes: z.array(hash).max(4096),
      lrBits: u32,
      weightDecay: z.number().min(0).max(1),
    })
    .strict(),
  z
    .object({
      type: z.literal('train'),
      id: u32,
      step: u32,
      /** First virtual sequence index and count (docs/design.md §5 assignment): with `until`, the cap. */
      start: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      count: z.number().int().min(1).max(4096),
      lrBits: u32,
      /** The round's time box (docs/design.md §11), a Date.now() time in ms: train from `start` until it passes, at most `count` sequences. */
      until: z.number().finite().positive().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('verify'),
      id: u32,
      step: u32,
      /** Other clients' updates of this round to score, each with the proof unit of its range this tab recomputes. */
      checks: z.array(z.object({ slot: u32, update: bytes, unit: u32 }).strict()).max(256),
      /** The round's trusted updates in referenceSlots' order, this tab's own first (src/verify/references.ts). */
      references: z.array(z.object({ slot: u32, update: bytes }).strict()).min(1).max(65),
      /** How many of them, leaving out the candidate's own slot, score each candidate (the run's verification.references). */
      maxReferences: z.number().int().min(1).max(64),
      /** The run's verification.maxProofErrorPermille. */
      maxProofErrorPermille: z.number().int().min(0).max(1000),
    })
    .strict(),
  /** The current parameters as a safetensors checkpoint (an epoch end's upload). */
  z.object({ type: z.literal('export'), id: u32 }).strict(),
  z.object({ type: z.literal('duty'), duty: z.number().min(0.05).max(1) }).strict(),
]);
export type ToRunWorker = z.infer<typeof ToRunWorkerSchema>;
export type RunWorkerRequest = Exclude<ToRunWorker, { type: 'duty' }>;

export const FromRunWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('planned'), id: u32, plan: memoryPlanSchema, adapter: z.string() }).strict(),
  z.object({ type: z.literal('exported'), id: u32, bytes }).strict(),
  z.object({ type: z.literal('loaded'), id: u32, checksum: z.string(), parameters: z.number().int(), adapter: z.string() }).strict(),
  z.object({ type: z.literal('applied'), id: u32, step: u32, checksum: z.string(), ms: z.number(), saved: saveStatsSchema }).strict(),
  z
    .object({
      type: z.literal('resumed'),
      id: u32,
      /** Null when there is nothing to resume from (reason says why, or null when nothing was stored). */
      resumed: z
        .object({
          step: u32,
          checksum,
          prevChecksum: checksum,
          lastHashes: z.array(hash),
          momentumStep: z.number().int().min(-1),
          parameters: z.number().int(),
          adapter: z.string(),
          ms: z.number(),
        })
        .strict()
        .nullable(),
      reason: z.string().nullable(),
    })
    .strict(),
  z
    .object({
      type: z.literal('trained'),
      id: u32,
      step: u32,
      update: bytes,
      /** Sequences trained from the range's start: the request's count, or fewer where its time box ended first. */
      count: z.number().int().min(1),
      loss: z.number(),
      gradNorm: z.number(),
      /** count × seqLen. */
      tokens: z.number().int(),
      ms: z.number(),
    })
    .strict(),
  z
    .object({
      type: z.literal('verified'),
      id: u32,
      step: u32,
      scores: z.array(z.object({ slot: u32, score: z.number().int().min(-1000).max(1000) }).strict()),
      /** Each decoded candidate's recomputed proof unit and its proof's relative error (per-mille, at most PROOF_ERROR_CAP). */
      proofs: z.array(z.object({ slot: u32, unit: u32, errorPermille: z.number().int().min(0) }).strict()),
      ms: z.number(),
      /** Of ms, the recomputation (forward + backward of one proof unit per check). */
      recomputeMs: z.number(),
    })
    .strict(),
  z.object({ type: z.literal('error'), id: u32.nullable(), message: z.string() }).strict(),
]);
export type FromRunWorker = z.infer<typeof FromRunWorkerSchema>;

/** The f32 whose bits are `bits`: the coordinator's exact η. */
export function f32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits, true);
  return view.getFloat32(0, true);
}

/**
 * A run's configuration (docs/run.md, docs/design.md §5). Every field has a
 * default so `parseRunConfig({})` is a working local run; the coordinator
 * validates its file/flags with this and sends the result to every client.
 */
import { z } from 'zod';
import { datasetSchema } from '../data/dataset-ref';
import { getPreset, modelConfigSchema, PRESET_NAMES } from '../model/config';

const ms = z.number().int().min(0).max(24 * 3600 * 1000);

export const lrScheduleSchema = z
  .object({
    schedule: z.enum(['constant', 'cosine', 'wsd']).default('wsd'),
    peak: z.number().positive().max(1).default(1e-2),
    warmupSteps: z.number().int().min(0).default(10),
    /** wsd: share of totalSteps spent decaying at the end. */
    decayFraction: z.number().min(0).max(1).default(0.2),
    /** Final lr as a fraction of the peak (cosine and wsd). */
    minFactor: z.number().min(0).max(1).default(0.1),
  })
  .strict();

export const optimizerSchema = z
  .object({
    chunk: z.number().int().min(1).max(64).default(64),
    topk: z.number().int().min(1).max(64).default(8),
    decay: z.number().min(0).max(1).default(0.999),
    gradClip: z.number().min(0).default(1),
    quantize1bit: z.boolean().default(true),
    weightDecay: z.number().min(0).max(1).default(0.1),
  })
  .strict();

/** docs/verification.md: exact checks, the verifier committee, probation, vesting and strikes. */
export const verificationSchema = z
  .object({
    /**
     * An update whose (tensor, block, index) set overlaps an earlier update of the run by at least this much (per-mille),
     * whatever its signs, is a copy if it also stands out from its round (copyExcessPermille; src/run/copy-rule.ts).
     */
    maxOverlapPermille: z.number().int().min(1).max(1000).default(800),
    /**
     * How far above its round a copy's overlap must stand: at least this share (per-mille) of the way from the round's
     * level (the lower median of the other updates' nearest overlaps in the round) to 1000‰. Honest updates converge as
     * batches grow, so the line alone strikes honest ones (docs/verification.md).
     */
    copyExcessPermille: z.number().int().min(0).max(1000).default(500),
    /** Verifiers per checked update (fewer when fewer other members exist). */
    verifiers: z.number().int().min(1).max(16).default(3),
    /** Updates of the round a verifier scores a candidate against: its own and members' past probation (src/verify/references.ts). */
    references: z.number().int().min(1).max(64).default(8),
    /** Probability that an update of a client past probation is checked (lowered to keep to maxRecomputeShare). */
    sampleRate: z.number().min(0).max(1).default(0.25),
    /**
     * The share of a member's training that recomputing the sampled checks of members past probation may take on average:
     * each verifier recomputes one sequence per check, so with s sequences a member and v verifiers a check the sample rate
     * is at most maxRecomputeShare · s / v (src/run/verification.ts checkRate). The round's probation checks count against
     * the same share first (and admission keeps them within maxProbationShare), so sampling only gets what they leave.
     */
    maxRecomputeShare: z.number().min(0).max(1000).default(0.1),
    /**
     * The share of the established members' training that checking newcomers' updates may take: joiners on probation
     * beyond it wait for a later round (src/run/verification.ts admitProbation). One newcomer a round is always admitted.
     */
    maxProbationShare: z.number().min(0).max(1000).default(0.1),
    /** Passed checks before a new identity leaves probation (every update checked, no weight as witness or verifier). */
    probationRounds: z.number().int().min(0).default(3),
    /** Rounds after which earned points vest; a strike forfeits the unvested ones. */
    vestingRounds: z.number().int().min(0).default(3),
    /** Strikes that eject a key for good. */
    maxStrikes: z.number().int().min(1).default(3),
    /** The lower median verifier score an update needs to pass (src/verify/agreement-score.ts: hundredths of a σ; 200 = 2 σ). */
    passScore: z.number().int().min(-1000).max(1000).default(200),
    /**
     * A verifier's recomputed sketch of one of the update's sequences must match the sketch the update claims within this
     * relative error (per-mille), or it scores the update the minimum (src/verify/sequence-proof.ts).
     */
    maxProofErrorPermille: z.number().int().min(0).max(1000).default(50),
    /** Verdicts against the committee's decision (with ≥ 3 scores) that cost a verifier one strike. */
    maxContradictions: z.number().int().min(1).default(2),
  })
  .strict();

/**
 * A preset name or a whole DeepseekV3-style config (Hugging Face field
 * names, src/model/config.ts), resolved here: the parsed run config always
 * holds the full model config, so the coordinator serves clients exactly
 * what they build and a client never needs a preset table that matches the
 * coordinator's. Errors name the field (`model.hidden_size: …`).
 */
export const runModelSchema = z
  .unknown()
  .transform((v, ctx) => {
    if (typeof v === 'string') {
      if ((PRESET_NAMES as string[]).includes(v)) return getPreset(v);
      ctx.addIssue({ code: 'custom', message: `unknown model preset "${v}"; known presets: ${PRESET_NAMES.join(', ')} (or give a whole model config object)` });
      return z.NEVER;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      ctx.addIssue({ code: 'custom', message: 'model must be a preset name or a model config object' });
      return z.NEVER;
    }
    const parsed = modelConfigSchema.safeParse(v);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] });
    return z.NEVER;
  })
  .prefault('tinyDemo');

export const runConfigSchema = z
  .object({
    /** 16 bytes as 32 lowercase hex chars; names the run in every signed message. */
    runId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'runId must be 32 lowercase hex characters')
      .default('7465737365726100000000000000d3f0'),
    /** tinyDemo by default: the smallest preset whose DeMo updates are 1000× smaller than its gradient. */
    model: runModelSchema,
    /** Seed of the epoch-0 checkpoint (initParams). */
    initSeed: z.number().int().default(1),
    /**
     * A shipped name (public/data/NAME, served by the app) or the absolute http(s) URL of a dataset folder or its
     * manifest.json, kept as the folder URL (src/data/dataset-ref.ts) so every client opens the same manifest.
     */
    dataset: datasetSchema.default('austen-byte'),
    seqLen: z.number().int().min(2).max(4096).default(64),
    warmupTime: ms.default(3000),
    cooldownTime: ms.default(2000),
    maxRoundTrainTime: ms.default(60_000),
    roundWitnessTime: ms.default(15_000),
    epochTime: ms.default(600_000),
    /**
     * Pipelined rounds (docs/design.md §11): the next round trains while the
     * last one is witnessed, on parameters one round stale, so a tab's GPU
     * does not wait out the witness stage. Off: each round trains on the
     * parameters after every earlier round.
     */
    pipelined: z.boolean().default(false),
    /**
     * Most direct WebRTC links a tab keeps (docs/design.md §11, src/net/mesh-links.ts): payloads reach the other members
     * by forwarding, and what the mesh does not bring in time comes from the payload store. 0, or at least the round's
     * members − 1, is the full mesh. 1 cannot connect a ring, so it is refused. At most the peer mesh's own limit of
     * connections (src/net/peer-mesh.ts maxPeers).
     */
    meshDegree: z
      .number()
      .int()
      .min(0)
      .max(64)
      .refine((d) => d !== 1, 'meshDegree must be 0 (full mesh) or at least 2')
      .default(8),
    /**
     * Size each member's share of a round's batch by its measured pace rather than equally (src/run/pace-shares.ts),
     * so a fast tab does not wait every round for a slow one; points follow the share. Off by default: shares, and
     * with them points per update, then vary from round to round.
     */
    shareByPace: z.boolean().default(false),
    /**
     * Time-boxed rounds (docs/design.md §11 "Time boxes"), ms; 0 = off. Each member trains its assigned range one
     * micro-batch after another until this long after its round reached it, and commits the sequences it reached
     * (at least one): a round takes the box whatever each tab's speed does during it, so no GPU waits for the slowest
     * training. The assignment is then the most a member may train, and points follow the sequences trained. Best with
     * shareByPace, which sizes each range to its member's pace; the batch should exceed what the members reach in a box.
     */
    trainTimeBox: ms.default(0),
    /** 0 = until stopped. */
    totalSteps: z.number().int().min(0).default(0),
    initMinClients: z.number().int().min(1).default(1),
    minClients: z.number().int().min(1).default(1),
    /** A member whose update is not agreed this many rounds in a row is dropped on the next miss. */
    maxMissedRounds: z.number().int().min(0).default(2),
    /** Sequences per round across all trainers, ramped linearly from start to end over warmupTokens. */
    globalBatch: z
      .object({
        start: z.number().int().min(1).default(8),
        end: z.number().int().min(1).default(8),
        warmupTokens: z.number().int().min(0).default(0),
      })
      .strict()
      .default({ start: 8, end: 8, warmupTokens: 0 }),
    optimizer: optimizerSchema.default(optimizerSchema.parse({})),
    lr: lrScheduleSchema.default(lrScheduleSchema.parse({})),
    pointsPerUpdate: z.number().int().min(0).default(10),
    verification: verificationSchema.default(verificationSchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.minClients > c.initMinClients) {
      ctx.addIssue({ code: 'custom', path: ['minClients'], message: `minClients (${c.minClients}) must be ≤ initMinClients (${c.initMinClients})` });
    }
    if (c.seqLen > c.model.max_position_embeddings) {
      ctx.addIssue({ code: 'custom', path: ['seqLen'], message: `seqLen (${c.seqLen}) must be ≤ the model's max_position_embeddings (${c.model.max_position_embeddings})` });
    }
    const smallest = Math.min(c.globalBatch.start, c.globalBatch.end);
    if (smallest < c.initMinClients) {
      ctx.addIssue({ code: 'custom', path: ['globalBatch'], message: `the global batch (${smallest}) must give each of initMinClients (${c.initMinClients}) clients at least one sequence` });
    }
    if (c.trainTimeBox > 0 && c.trainTimeBox >= c.maxRoundTrainTime) {
      ctx.addIssue({ code: 'custom', path: ['trainTimeBox'], message: `trainTimeBox (${c.trainTimeBox} ms) must be below maxRoundTrainTime (${c.maxRoundTrainTime} ms), or members are dropped for committing on time` });
    }
    if (c.lr.schedule === 'cosine' && c.totalSteps === 0) {
      // Cosine reaches minFactor·peak at totalSteps; with 0 (until stopped) it would sit at the minimum right after warmup.
      ctx.addIssue({ code: 'custom', path: ['lr', 'schedule'], message: "the cosine schedule needs totalSteps > 0 (use 'wsd' or 'constant' to train until stopped)" });
    }
  });

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

export class RunConfigError extends Error {
  override name = 'RunConfigError';
}

/** Validates untrusted input; the error lists every bad field. */
export function parseRunConfig(input: unknown, where = 'run config'): RunConfig {
  const result = runConfigSchema.safeParse(input);
  if (!result.success) throw new RunConfigError(`invalid ${where}:\n${z.prettifyError(result.error)}`);
  return result.data;
}

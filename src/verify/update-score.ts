/**
 * A verifier's score for one DeMo update (docs/verification.md). The verifier
 * holds the same pre-round parameters as the update's author; it scores the
 * update against a small sample of the author's assigned sequences and a
 * control sample (sequences assigned to nobody this round). Both candidate
 * scores of scripts/verify-sim.ts live here:
 *
 * - sign agreement: the verifier's own clipped gradient on the sample, taken
 *   through DeMo's blockwise DCT-II at the update's kept coefficients; the
 *   share whose sign matches the update's sign (the update's sign is the
 *   momentum's, which moves with +gradient), minus the same share on the
 *   control sample. An honest update carries its sequences' gradient; a
 *   made-up, copied, replayed or wrong-data one does no better on the sample
 *   than on the control.
 * - loss change: apply the update alone to the parameters (the real apply
 *   path), the loss drop on the sample minus the drop on the control; the
 *   parameters are restored bit for bit afterwards.
 *
 * scoreUpdate is the one chosen (see its comment). Neither changes the replica's parameters or momentum. Scores are integer
 * per-mille in [−1000, 1000].
 */
import { blockGrid, blockOrigin } from '../demo/blocks';
import { sharedBasis } from '../demo/dct';
import type { TokenBatch } from '../model/gpu-model';
import { decodeUpdate, type DecodedUpdate } from '../protocol/update-codec';
import type { DemoReplica } from '../train/demo-trainer';

const now = (): number => performance.now();

/** The verifier's clipped gradient on one batch, flat in the model's layout. */
export interface VerifierGradient {
  loss: number;
  gradNorm: number;
  grads: Float32Array;
  /** Forward + backward + clip + readback. */
  ms: number;
}

export async function verifierGradient(replica: DemoReplica, batch: TokenBatch): Promise<VerifierGradient> {
  const t0 = now();
  const g = await replica.clippedGradient(batch);
  return { ...g, ms: now() - t0 };
}

/**
 * DCT-II coefficients of the flat gradient at every kept entry of `update`,
 * in wire order (tensor by tensor, block by block, k a block): the same
 * blocks and orthonormal basis as DeMo's compress, in float64 on the CPU.
 * `offsets[t]` is tensor t's first element in `grads` (the model's layout).
 */
export function keptCoefficients(offsets: readonly number[], grads: ArrayLike<number>, update: Pick<DecodedUpdate, 'tensors'>): Float64Array {
  if (update.tensors.length !== offsets.length) throw new RangeError(`keptCoefficients: ${update.tensors.length} tensors, the model has ${offsets.length}`);
  let total = 0;
  for (const t of update.tensors) total += t.indices.length;
  const out = new Float64Array(total);
  let n = 0;
  update.tensors.forEach((t, ti) => {
    const base = offsets[ti];
    const grid = blockGrid(t.shape, t.block);
    const { C, cr, cc } = grid;
    const br = sharedBasis(cr);
    const bc = sharedBasis(cc);
    for (let e = 0; e < t.indices.length; e++) {
      const b = Math.floor(e / t.k);
      const o = base + blockOrigin(grid, b);
      const f = t.indices[e];
      const u = Math.floor(f / cc);
      const v = f - u * cc;
      // Y[u, v] = Σ_i C_r[u, i] · Σ_j C_c[v, j] · X[i, j]
      let s = 0;
      for (let i = 0; i < cr; i++) {
        const row = o + i * C;
        let r = 0;
        for (let j = 0; j < cc; j++) r += bc[v * cc + j] * grads[row + j];
        s += br[u * cr + i] * r;
      }
      out[n++] = s;
    }
  });
  return out;
}

/** Each wire tensor's first element in the model's flat buffers. */
export function tensorOffsets(replica: DemoReplica): number[] {
  return replica.model.ctx.layout.slots.map((s) => s.offset);
}

export interface Agreement {
  /** Share of kept entries whose gradient coefficient has the update's sign (0 counts as a miss). */
  agree: number;
  /** Σ c·sign / Σ |c| over the kept entries, in [−1, 1]: agreement weighted by the coefficient's size. */
  weighted: number;
}

export function signAgreement(coeffs: Float64Array, update: Pick<DecodedUpdate, 'tensors'>): Agreement {
  let n = 0;
  let match = 0;
  let dot = 0;
  let abs = 0;
  for (const t of update.tensors) {
    for (let e = 0; e < t.values.length; e++, n++) {
      const c = coeffs[n];
      const s = t.values[e] < 0 ? -1 : 1;
      if (c * s > 0) match++;
      dot += c * s;
      abs += Math.abs(c);
    }
  }
  if (n !== coeffs.length) throw new RangeError(`signAgreement: ${coeffs.length} coefficients for ${n} entries`);
  return { agree: n === 0 ? 0 : match / n, weighted: abs === 0 ? 0 : dot / abs };
}

/** Integer per-mille in [−1000, 1000]. */
export function toPermille(x: number): number {
  if (!Number.isFinite(x)) return -1000;
  return Math.max(-1000, Math.min(1000, Math.round(1000 * x)));
}

export interface SignScore {
  /** round(1000 · (agreeSample − agreeControl)). */
  score: number;
  agreeSample: number;
  agreeControl: number;
  weightedSample: number;
  weightedControl: number;
  ms: number;
}

export interface SignScoreOptions {
  /** The control gradient, when the verifier already computed it this round (it is the same for every update it checks). */
  controlGradient?: VerifierGradient;
  /** The sample gradient, likewise (the same for every update claiming the same sequences). */
  sampleGradient?: VerifierGradient;
}

/** Sign agreement of an already decoded update with two gradients. */
export function signScoreOf(replica: DemoReplica, update: DecodedUpdate, sample: VerifierGradient, control: VerifierGradient): Omit<SignScore, 'ms'> {
  const offsets = tensorOffsets(replica);
  const s = signAgreement(keptCoefficients(offsets, sample.grads, update), update);
  const c = signAgreement(keptCoefficients(offsets, control.grads, update), update);
  return { score: toPermille(s.agree - c.agree), agreeSample: s.agree, agreeControl: c.agree, weightedSample: s.weighted, weightedControl: c.weighted };
}

export async function signAgreementScore(
  replica: DemoReplica,
  update: Uint8Array,
  sample: TokenBatch,
  control: TokenBatch,
  opts: SignScoreOptions = {},
): Promise<SignScore> {
  const t0 = now();
  const decoded = decodeUpdate(update, replica.expectedUpdate);
  const gs = opts.sampleGradient ?? (await verifierGradient(replica, sample));
  const gc = opts.controlGradient ?? (await verifierGradient(replica, control));
  return { ...signScoreOf(replica, decoded, gs, gc), ms: now() - t0 };
}

export interface LossScore {
  /** round(1000 · (drop on the sample − drop on the control) / lossScale), drops in nats. */
  score: number;
  /** Loss before and after applying the update alone. */
  sampleBefore: number;
  sampleAfter: number;
  controlBefore: number;
  controlAfter: number;
  ms: number;
}

export interface LossScoreOptions {
  /** Loss of the control before any update (the same for every update the verifier checks this round). */
  controlBefore?: number;
  /** Loss of the sample before (the same for every update claiming the same sequences). */
  sampleBefore?: number;
  /** Nats that map to 1000 per-mille (default 0.01). */
  lossScale?: number;
}

export async function lossChangeScore(
  replica: DemoReplica,
  update: Uint8Array,
  sample: TokenBatch,
  control: TokenBatch,
  lr: number,
  opts: LossScoreOptions = {},
): Promise<LossScore> {
  const t0 = now();
  const model = replica.model;
  const sampleBefore = opts.sampleBefore ?? (await model.loss(sample));
  const controlBefore = opts.controlBefore ?? (await model.loss(control));
  const [sampleAfter, controlAfter] = await replica.withTrialUpdate(update, lr, async () => [await model.loss(sample), await model.loss(control)]);
  const drop = sampleBefore - sampleAfter - (controlBefore - controlAfter);
  const score = toPermille(drop / (opts.lossScale ?? 0.01));
  return { score, sampleBefore, sampleAfter, controlBefore, controlAfter, ms: now() - t0 };
}

export interface UpdateScore {
  /** The verdict's number: integer per-mille in [−1000, 1000], round(1000 · weightedSample). */
  score: number;
  /** Σ c·sign / Σ |c| over the kept entries, c the DCT of the verifier's gradient on the sample. */
  weightedSample: number;
  weightedControl: number;
  agreeSample: number;
  agreeControl: number;
  ms: number;
}

/**
 * The production score, as scripts/verify-sim.ts measured best of the
 * candidates (bench-results/verify-scores.json, docs/bench/): the
 * magnitude-weighted sign agreement of the update with the verifier's clipped
 * gradient on the sample, alone (the control is reported, not subtracted:
 * with 1-sequence samples the difference is dominated by sample noise). It
 * separates made-up signs (random, constant, random indices) and replays from
 * honest updates; copies are left to the exact overlap check (overlap.ts).
 * `lr` is unused by this score and kept so the call does not change if the
 * loss-change score is chosen.
 */
export async function scoreUpdate(
  replica: DemoReplica,
  update: Uint8Array,
  sample: TokenBatch,
  control: TokenBatch,
  lr: number,
  opts: SignScoreOptions = {},
): Promise<UpdateScore> {
  void lr;
  const r = await signAgreementScore(replica, update, sample, control, opts);
  return {
    score: toPermille(r.weightedSample),
    weightedSample: r.weightedSample,
    weightedControl: r.weightedControl,
    agreeSample: r.agreeSample,
    agreeControl: r.agreeControl,
    ms: r.ms,
  };
}

/**
 * The whole GPU model against the float64 reference model: the loss and
 * every parameter's gradient, on a config whose every size is awkward (no
 * tile multiples, H > 1, dn+dr ≠ dv, some targets ignored).
 */
import type { Gpu } from '../gpu/gpu';
import { type CheckOptions, type CheckResult, type KernelCheck, shapeString, withinTolerance } from '../kernels/check';
import { compareArrays } from '../kernels/testing/compare';
import { mulberry32 } from '../kernels/testing/random';
import { parseModelConfig, type ModelConfig } from './config';
import { GpuModel } from './gpu-model';
import { initParams } from './init';
import { referenceLossAndGrads, toFloat64Params } from './reference-model';

export function awkwardConfig(qLoraRank: number): ModelConfig {
  return parseModelConfig({
    vocab_size: 61,
    hidden_size: 37,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    q_lora_rank: qLoraRank,
    kv_lora_rank: 19,
    qk_nope_head_dim: 5,
    qk_rope_head_dim: 4,
    v_head_dim: 7,
    intermediate_size: 43,
    max_position_embeddings: 16,
    // Larger than the usual 0.02 so activations and gradients are of order 1.
    initializer_range: 0.25,
  });
}

export function randomTokens(n: number, V: number, seed: number, ignoreEvery = 0): Int32Array {
  const rand = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? -100 : Math.floor(rand() * V);
  return out;
}

export interface ModelCheckDetail {
  loss: { gpu: number; ref: number; relErr: number };
  tensors: { name: string; maxAbsErr: number; maxAbsRef: number; pass: boolean }[];
}

export async function checkModelAgainstReference(
  gpu: Gpu,
  config: ModelConfig,
  B: number,
  S: number,
  seed: number,
): Promise<{ pass: boolean; detail: ModelCheckDetail; ms: number }> {
  const params = initParams(config, seed);
  const inputIds = randomTokens(B * S, config.vocab_size, seed + 1);
  const targets = randomTokens(B * S, config.vocab_size, seed + 2, 5);
  const model = GpuModel.fromParams(gpu, config, params);
  try {
    const t0 = performance.now();
    const got = await model.lossAndGrads({ inputIds, targets, batch: B, seqLen: S });
    const ms = performance.now() - t0;
    const ref = referenceLossAndGrads(toFloat64Params(params), config, inputIds, targets, B, S);
    const relErr = Math.abs(got.loss - ref.loss) / Math.abs(ref.loss);
    const tensors = [...ref.grads].map(([name, r]) => {
      const e = compareArrays(got.grads[name], r);
      return { name, maxAbsErr: e.maxAbsErr, maxAbsRef: e.maxAbsRef, pass: withinTolerance(GRAD_TOLERANCE, e) };
    });
    const pass = relErr <= 1e-5 && tensors.every((t) => t.pass);
    return { pass, detail: { loss: { gpu: got.loss, ref: ref.loss, relErr }, tensors }, ms };
  } finally {
    model.dispose();
  }
}

const GRAD_TOLERANCE = { kind: 'absScaled', value: 1e-4 } as const;

async function runModelCheck(gpu: Gpu, qLoraRank: number, opts: CheckOptions = {}): Promise<CheckResult> {
  const { B, S } = { B: 2, S: 7, ...opts.shape };
  const config = awkwardConfig(qLoraRank);
  const { pass, detail, ms } = await checkModelAgainstReference(gpu, config, B, S, opts.seed ?? 11);
  // Report the worst tensor, relative to its own scale.
  const worst = detail.tensors.reduce((w, t) => (t.maxAbsErr / t.maxAbsRef > w.maxAbsErr / w.maxAbsRef ? t : w));
  return {
    name: qLoraRank > 0 ? 'model.lossAndGrads.qlora' : 'model.lossAndGrads',
    shape: `${shapeString({ B, S })} worst=${worst.name} loss=${detail.loss.gpu.toFixed(6)}`,
    maxAbsErr: worst.maxAbsErr,
    maxRelErr: detail.loss.relErr,
    maxAbsRef: worst.maxAbsRef,
    tolerance: GRAD_TOLERANCE,
    pass,
    ms,
  };
}

export const modelChecks: KernelCheck[] = [
  {
    name: 'model.lossAndGrads',
    description: 'whole MLA model (q_proj): loss ≤ 1e-5 relative, every gradient ≤ 1e-4·max|ref| vs the float64 reference model',
    run: (gpu, o) => runModelCheck(gpu, 0, o),
  },
  {
    name: 'model.lossAndGrads.qlora',
    description: 'whole MLA model (q_a/q_b low-rank queries), same tolerances',
    run: (gpu, o) => runModelCheck(gpu, 23, o),
  },
];

/**
 * The generation model's checks, run on any onnxruntime backend: in Node on
 * wasm (mla-onnx.test.ts) and in the browser on WebGPU
 * (`tessera.generate.checks()`, e2e/generate-checks.spec.ts). Per config:
 * the ONNX logits against the float64 reference and our WGSL forward, a
 * prefill of 3 and 4 decode steps against a prefill of 7, and (on the
 * awkward shapes, whose random weights give clear winners) 32 greedy tokens
 * against greedy decoding with the reference and with the WGSL forward.
 * Tolerance: docs/design.md §3's for matmul chains, 1e-4·max|ref|.
 */
import type { Gpu } from '../gpu/gpu';
import { compareArrays } from '../kernels/testing/compare';
import { parseModelConfig, PRESETS, type ModelConfig } from '../model/config';
import { GpuModel } from '../model/gpu-model';
import { initParams } from '../model/init';
import { referenceForward, toFloat64Params } from '../model/reference-model';
import { generate } from './generate';
import { buildMlaOnnx } from './mla-onnx';
import { MlaSession, type Backend, type Ort } from './mla-session';
import { argmax, GREEDY } from './sampling';

export interface OnnxCheck {
  name: string;
  pass: boolean;
  detail: string;
}

/** Odd sizes everywhere: 3 heads, dn 5, dr 6, dv 7, latent 11; large weights, so greedy picks are far from ties. */
export const awkwardConfig = (qLora: number): ModelConfig =>
  parseModelConfig({
    vocab_size: 37,
    hidden_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    q_lora_rank: qLora,
    kv_lora_rank: 11,
    qk_nope_head_dim: 5,
    qk_rope_head_dim: 6,
    v_head_dim: 7,
    intermediate_size: 40,
    max_position_embeddings: 48,
    initializer_range: 0.2,
  });

export const CHECK_CONFIGS: [string, ModelConfig][] = [
  ['tiny', PRESETS.tiny],
  ['tinyLora', PRESETS.tinyLora],
  ['awkward, q_lora_rank 0', awkwardConfig(0)],
  ['awkward, q_lora_rank 9', awkwardConfig(9)],
];

const GREEDY_TOKENS = 32;

export function testTokens(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % vocab);
}

function close(name: string, got: Float32Array, ref: ArrayLike<number>): OnnxCheck {
  const e = compareArrays(got, ref);
  const pass = Number.isFinite(e.maxAbsErr) && e.maxAbsErr <= 1e-4 * e.maxAbsRef;
  return { name, pass, detail: `max |err| ${e.maxAbsErr.toExponential(2)}, max |ref| ${e.maxAbsRef.toExponential(2)}` };
}

function same(name: string, got: number[], want: number[]): OnnxCheck {
  const first = got.findIndex((t, i) => t !== want[i]);
  const pass = got.length === want.length && first < 0 && new Set(got).size > 1;
  return { name, pass, detail: pass ? `${got.length} tokens, ${new Set(got).size} distinct` : `differs at token ${first}: ${got.join(' ')} vs ${want.join(' ')}` };
}

/** Greedy decoding by a whole-sequence forward on the growing text, as the trainer computes logits. */
export async function greedyByForward(forward: (ids: number[]) => Promise<ArrayLike<number>>, prompt: number[], n: number, V: number): Promise<number[]> {
  const ids = [...prompt];
  for (let i = 0; i < n; i++) {
    const logits = await forward(ids);
    ids.push(argmax(Array.prototype.slice.call(logits, (ids.length - 1) * V, ids.length * V) as number[]));
  }
  return ids.slice(prompt.length);
}

async function greedyByOnnx(session: MlaSession, prompt: number[], n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const t of generate(session, prompt, { sampling: GREEDY, maxTokens: n, eotToken: null, seed: 0 })) out.push(t.token);
  return out;
}

/** Every check for one config; the WGSL ones only when `gpu` is given. */
export async function checkConfig(ort: Ort, backend: Backend, gpu: Gpu | null, label: string, config: ModelConfig): Promise<OnnxCheck[]> {
  const params = initParams(config, 11);
  const p64 = toFloat64Params(params);
  const session = await MlaSession.create(ort, buildMlaOnnx(config, params), config, backend);
  const model = gpu ? GpuModel.fromParams(gpu, config, params) : null;
  const wgsl = (ids: number[]) => (model as GpuModel).logits({ inputIds: Int32Array.from(ids), batch: 1, seqLen: ids.length });
  const reference = async (ids: number[]) => referenceForward(p64, config, Int32Array.from(ids), 1, ids.length).logits;
  const out: OnnxCheck[] = [];
  const at = (what: string) => `${label}: ${what} (${backend})`;
  try {
    const ids = testTokens(7, config.vocab_size, 3);
    const whole = await session.prefill(ids);
    out.push(close(at('prefill of 7 = float64 reference'), whole, await reference(ids)));
    if (model) out.push(close(at('prefill of 7 = WGSL forward'), whole, await wgsl(ids)));
    const V = config.vocab_size;
    const stepwise = new Float32Array(7 * V);
    stepwise.set(await session.prefill(ids.slice(0, 3)), 0);
    for (let i = 3; i < 7; i++) stepwise.set(await session.decode(ids[i]), i * V);
    out.push(close(at('prefill 3 + decode 4 = prefill 7'), stepwise, whole));
    if (label.startsWith('awkward')) {
      const prompt = testTokens(4, V, 9);
      const onnx = await greedyByOnnx(session, prompt, GREEDY_TOKENS);
      out.push(same(at(`greedy ${GREEDY_TOKENS} tokens = float64 reference`), onnx, await greedyByForward(reference, prompt, GREEDY_TOKENS, V)));
      if (model) out.push(same(at(`greedy ${GREEDY_TOKENS} tokens = WGSL forward`), onnx, await greedyByForward(wgsl, prompt, GREEDY_TOKENS, V)));
    }
  } finally {
    model?.dispose();
    await session.release();
  }
  return out;
}

export async function onnxChecks(ort: Ort, backend: Backend, gpu: Gpu | null): Promise<OnnxCheck[]> {
  const out: OnnxCheck[] = [];
  for (const [label, config] of CHECK_CONFIGS) out.push(...(await checkConfig(ort, backend, gpu, label, config)));
  return out;
}

import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { compareArrays } from '../kernels/testing/compare';
import { parseModelConfig, PRESETS, type ModelConfig } from '../model/config';
import { initParams } from '../model/init';
import { referenceForward, toFloat64Params } from '../model/reference-model';
import { buildMlaOnnx } from './mla-onnx';
import { MlaSession } from './mla-session';

ort.env.wasm.numThreads = 1;

/** Odd sizes everywhere: 3 heads, dn 5, dr 6, dv 7, latent 11. */
const awkward = (qLora: number): ModelConfig =>
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

const CONFIGS: [string, ModelConfig][] = [
  ['tiny', PRESETS.tiny],
  ['tinyLora', PRESETS.tinyLora],
  ['awkward, q_lora_rank 0', awkward(0)],
  ['awkward, q_lora_rank 9', awkward(9)],
];

function tokens(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % vocab);
}

/** 1e-4·max|ref|: DESIGN §3's tolerance for matmul chains. */
function expectClose(got: Float32Array, ref: ArrayLike<number>, what: string): void {
  const e = compareArrays(got, ref);
  expect(e.maxAbsErr, `${what}: max error ${e.maxAbsErr} against max |ref| ${e.maxAbsRef}`).toBeLessThanOrEqual(1e-4 * e.maxAbsRef);
}

describe.each(CONFIGS)('the ONNX model (%s), on onnxruntime-web wasm', (_name, config) => {
  const params = initParams(config, 11);
  const model = buildMlaOnnx(config, params);

  it('gives the float64 reference forward’s logits for a prompt', async () => {
    const session = await MlaSession.create(ort, model, config, 'wasm');
    const ids = tokens(7, config.vocab_size, 3);
    const got = await session.prefill(ids);
    const { logits } = referenceForward(toFloat64Params(params), config, Int32Array.from(ids), 1, 7);
    expectClose(got, logits, 'prefill of 7');
  });

  it('gives the same logits for a prefill of 3 and 4 decode steps as for a prefill of 7', async () => {
    const session = await MlaSession.create(ort, model, config, 'wasm');
    const ids = tokens(7, config.vocab_size, 5);
    const whole = await session.prefill(ids);
    const V = config.vocab_size;
    const stepwise = new Float32Array(7 * V);
    stepwise.set(await session.prefill(ids.slice(0, 3)), 0);
    for (let i = 3; i < 7; i++) stepwise.set(await session.decode(ids[i]), i * V);
    expect(session.length).toBe(7);
    expectClose(stepwise, whole, 'prefill 3 + decode 4');
  });
});

import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../gpu/gpu';
import { tryNodeGpu } from '../gpu/test-node-gpu';
import { GpuModel } from '../model/gpu-model';
import { compareArrays } from '../kernels/testing/compare';
import { parseModelConfig, PRESETS, type ModelConfig } from '../model/config';
import { initParams } from '../model/init';
import { referenceForward, toFloat64Params } from '../model/reference-model';
import { generate } from './generate';
import { buildMlaOnnx } from './mla-onnx';
import { MlaSession } from './mla-session';
import { argmax, GREEDY } from './sampling';

const gpu = await tryNodeGpu();
afterAll(() => gpu?.device.destroy());

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

/** Greedy decoding by running a whole-sequence forward on the growing text, as our trainer computes logits. */
async function greedyByForward(forward: (ids: number[]) => Promise<ArrayLike<number>>, prompt: number[], n: number, V: number): Promise<number[]> {
  const ids = [...prompt];
  for (let i = 0; i < n; i++) {
    const logits = await forward(ids);
    const last = Array.prototype.slice.call(logits, (ids.length - 1) * V, ids.length * V) as number[];
    ids.push(argmax(last));
  }
  return ids.slice(prompt.length);
}

async function greedyByOnnx(config: ModelConfig, model: Uint8Array, prompt: number[], n: number): Promise<number[]> {
  const session = await MlaSession.create(ort, model, config, 'wasm');
  const out: number[] = [];
  for await (const t of generate(session, prompt, { sampling: GREEDY, maxTokens: n, eotToken: null, seed: 0 })) out.push(t.token);
  return out;
}

describe.each(CONFIGS.filter(([name]) => name.startsWith('awkward')))('greedy generation (%s)', (_name, config) => {
  const params = initParams(config, 5);
  const model = buildMlaOnnx(config, params);
  const prompt = tokens(4, config.vocab_size, 9);

  it('gives 32 tokens, the same as greedy decoding with the float64 reference forward', async () => {
    const p64 = toFloat64Params(params);
    const ref = await greedyByForward(async (ids) => referenceForward(p64, config, Int32Array.from(ids), 1, ids.length).logits, prompt, 32, config.vocab_size);
    const got = await greedyByOnnx(config, model, prompt, 32);
    expect(got).toHaveLength(32);
    expect(got).toEqual(ref);
    // Not a degenerate text: the model says more than one thing.
    expect(new Set(got).size).toBeGreaterThan(1);
  });

  it.skipIf(gpu === null)('gives the same 32 tokens as greedy decoding with our WGSL forward', async () => {
    const m = GpuModel.fromParams(gpu as Gpu, config, params);
    try {
      const ours = await greedyByForward((ids) => m.logits({ inputIds: Int32Array.from(ids), batch: 1, seqLen: ids.length }), prompt, 32, config.vocab_size);
      expect(await greedyByOnnx(config, model, prompt, 32)).toEqual(ours);
    } finally {
      m.dispose();
    }
  });
});

describe.skipIf(gpu === null).each(CONFIGS)('the ONNX model (%s) against our WGSL forward', (_name, config) => {
  it('gives the GPU model’s logits for a prompt', async () => {
    const params = initParams(config, 13);
    const session = await MlaSession.create(ort, buildMlaOnnx(config, params), config, 'wasm');
    const ids = tokens(9, config.vocab_size, 4);
    const m = GpuModel.fromParams(gpu as Gpu, config, params);
    try {
      const ours = await m.logits({ inputIds: Int32Array.from(ids), batch: 1, seqLen: ids.length });
      expectClose(await session.prefill(ids), ours, 'ONNX vs WGSL');
    } finally {
      m.dispose();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../kernels/crossentropy/ignore-index';
import { mulberry32, randomFloats, randomInts } from '../kernels/testing/random';
import { layerPrefix, numel, parameterSpecs, parseModelConfig, PRESETS, type ModelConfig } from './config';
import { initParams } from './init';
import {
  finalActivationShapes,
  layerActivationShapes,
  referenceForward,
  referenceLoss,
  referenceLossAndGrads,
  toFloat64Params,
} from './reference-model';

/**
 * Random weights at O(1) activation scale (std 1/sqrt(fan_in), gains near 1)
 * rather than the 0.02 init: with tiny weights some paths (queries, keys)
 * barely move the loss and their gradients would be checked only against noise.
 */
function randomParams(config: ModelConfig, seed: number): Map<string, Float64Array> {
  const params = new Map<string, Float64Array>();
  parameterSpecs(config).forEach((spec, i) => {
    const n = numel(spec.shape);
    if (spec.init === 'ones') {
      params.set(spec.name, randomFloats(n, seed + i, 0.2).map((x) => 1 + x));
    } else {
      const fanIn = spec.name === 'model.embed_tokens.weight' ? 1 : spec.shape[1];
      params.set(spec.name, randomFloats(n, seed + i, 1 / Math.sqrt(fanIn)));
    }
  });
  return params;
}

function batch(config: ModelConfig, B: number, S: number, seed: number) {
  const inputIds = randomInts(B * S, config.vocab_size, seed);
  const targets = randomInts(B * S, config.vocab_size, seed + 1);
  targets[1] = IGNORE_INDEX;
  targets[B * S - 2] = IGNORE_INDEX;
  return { inputIds, targets };
}

/** Entry indices to probe: random ones, plus (for the embedding) entries in rows the batch uses, whose grads are non-zero. */
function probeIndices(name: string, n: number, D: number, inputIds: Int32Array, rand: () => number, count: number): number[] {
  const picks: number[] = [];
  for (let i = 0; i < count; i++) {
    if (name === 'model.embed_tokens.weight' && i < count - 1) {
      picks.push(inputIds[Math.floor(rand() * inputIds.length)] * D + Math.floor(rand() * D));
    } else {
      picks.push(Math.floor(rand() * n));
    }
  }
  return picks;
}

function checkAllGradients(config: ModelConfig, B: number, S: number, seed: number): void {
  const params = randomParams(config, seed);
  const { inputIds, targets } = batch(config, B, S, seed + 100);
  const { loss, grads } = referenceLossAndGrads(params, config, inputIds, targets, B, S);
  expect(loss).toBeCloseTo(referenceLoss(params, config, inputIds, targets, B, S), 12);
  expect([...grads.keys()]).toEqual(parameterSpecs(config).map((s) => s.name));
  const rand = mulberry32(seed + 7);
  const h = 1e-5;
  const failures: string[] = [];
  for (const spec of parameterSpecs(config)) {
    const p = params.get(spec.name)!;
    const g = grads.get(spec.name)!;
    expect(g.length).toBe(p.length);
    // Judge near-zero entries against the tensor's scale: FD noise is absolute.
    const scale = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(scale, `${spec.name} has an all-zero gradient`).toBeGreaterThan(0);
    for (const i of probeIndices(spec.name, p.length, config.hidden_size, inputIds, rand, 6)) {
      const x = p[i];
      p[i] = x + h;
      const plus = referenceLoss(params, config, inputIds, targets, B, S);
      p[i] = x - h;
      const minus = referenceLoss(params, config, inputIds, targets, B, S);
      p[i] = x;
      const numeric = (plus - minus) / (2 * h);
      const rel = Math.abs(g[i] - numeric) / Math.max(Math.abs(numeric), 1e-3 * scale);
      // Observed worst ≈ 5e-7: FD rounding noise (≈1e-10 absolute) on entries near the floor.
      if (!(rel < 1e-5)) failures.push(`${spec.name}[${i}]: analytic ${g[i]}, numeric ${numeric}, rel ${rel}`);
    }
  }
  expect(failures).toEqual([]);
}

describe('reference model gradients match central finite differences', () => {
  it('direct q_proj (tiny; B=2, S=7, H=2, dn+dr=12, dv=8)', () => {
    checkAllGradients(PRESETS.tiny, 2, 7, 1);
  });

  it('low-rank query (q_lora_rank 24; B=2, S=5, H=3, dv=6)', () => {
    const config = parseModelConfig({ ...PRESETS.tinyLora, num_attention_heads: 3, v_head_dim: 6, vocab_size: 61 });
    checkAllGradients(config, 2, 5, 2);
  });
});

/**
 * An independent, deliberately plain forward (token by token, head by head,
 * straight from docs/design.md §2) that shares no code with the reference, so layout
 * mistakes (head row order, k_pe sharing, RoPE pairs) cannot cancel out.
 */
function plainLogits(params: Map<string, Float64Array>, c: ModelConfig, ids: Int32Array, B: number, S: number): Float64Array {
  const [D, H, dn, dr, dv, rkv] = [c.hidden_size, c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank];
  const W = (n: string) => params.get(n)!;
  const linear = (x: number[], w: Float64Array) => {
    const out = w.length / x.length;
    return Array.from({ length: out }, (_, o) => x.reduce((s, xi, i) => s + xi * w[o * x.length + i], 0));
  };
  const norm = (x: number[], g: Float64Array, eps: number) => {
    const r = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + eps);
    return x.map((v, i) => g[i] * v * r);
  };
  const rope = (x: number[], p: number) => {
    const y = x.slice();
    for (let i = 0; i < dr / 2; i++) {
      const ang = p * Math.pow(c.rope_theta, (-2 * i) / dr);
      y[2 * i] = x[2 * i] * Math.cos(ang) - x[2 * i + 1] * Math.sin(ang);
      y[2 * i + 1] = x[2 * i] * Math.sin(ang) + x[2 * i + 1] * Math.cos(ang);
    }
    return y;
  };
  const logits: number[] = [];
  for (let b = 0; b < B; b++) {
    let hs = Array.from({ length: S }, (_, s) => Array.from(W('model.embed_tokens.weight').subarray(ids[b * S + s] * D, ids[b * S + s] * D + D)));
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const P = (n: string) => W(layerPrefix(l) + n);
      const a = hs.map((x) => norm(x, P('input_layernorm.weight'), c.rms_norm_eps));
      const q = a.map((x) =>
        c.q_lora_rank > 0
          ? linear(norm(linear(x, P('self_attn.q_a_proj.weight')), P('self_attn.q_a_layernorm.weight'), 1e-6), P('self_attn.q_b_proj.weight'))
          : linear(x, P('self_attn.q_proj.weight')),
      );
      const ckp = a.map((x) => linear(x, P('self_attn.kv_a_proj_with_mqa.weight')));
      const kv = ckp.map((x) => linear(norm(x.slice(0, rkv), P('self_attn.kv_a_layernorm.weight'), 1e-6), P('self_attn.kv_b_proj.weight')));
      const kPe = ckp.map((x, s) => rope(x.slice(rkv), s));
      const attnOut = hs.map((_, i) => {
        const row: number[] = [];
        for (let h = 0; h < H; h++) {
          const qh = q[i].slice(h * (dn + dr), h * (dn + dr) + dn).concat(rope(q[i].slice(h * (dn + dr) + dn, (h + 1) * (dn + dr)), i));
          const keys = kv.slice(0, i + 1).map((x, j) => x.slice(h * (dn + dv), h * (dn + dv) + dn).concat(kPe[j]));
          const scores = keys.map((k) => k.reduce((s, kj, t) => s + kj * qh[t], 0) / Math.sqrt(dn + dr));
          const mx = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - mx));
          const z = e.reduce((s, x) => s + x, 0);
          for (let t = 0; t < dv; t++) row.push(e.reduce((s, p, j) => s + (p / z) * kv[j][h * (dn + dv) + dn + t], 0));
        }
        return row;
      });
      hs = hs.map((x, i) => {
        const h1 = linear(attnOut[i], P('self_attn.o_proj.weight')).map((v, t) => v + x[t]);
        const m = norm(h1, P('post_attention_layernorm.weight'), c.rms_norm_eps);
        const g = linear(m, P('mlp.gate_proj.weight'));
        const u = linear(m, P('mlp.up_proj.weight'));
        const act = g.map((gi, t) => (gi / (1 + Math.exp(-gi))) * u[t]);
        return linear(act, P('mlp.down_proj.weight')).map((v, t) => v + h1[t]);
      });
    }
    for (const x of hs) logits.push(...linear(norm(x, W('model.norm.weight'), c.rms_norm_eps), W('lm_head.weight')));
  }
  return Float64Array.from(logits);
}

describe('reference model forward', () => {
  for (const [label, config] of [
    ['direct q_proj', PRESETS.tiny],
    ['low-rank query, eps ≠ 1e-6', parseModelConfig({ ...PRESETS.tinyLora, num_attention_heads: 3, rms_norm_eps: 1e-3, rope_theta: 500 })],
  ] as const) {
    it(`matches a plain per-token implementation of docs/design.md §2 (${label})`, () => {
      const params = randomParams(config, 11);
      const { inputIds } = batch(config, 2, 6, 12);
      const { logits } = referenceForward(params, config, inputIds, 2, 6);
      const plain = plainLogits(params, config, inputIds, 2, 6);
      let worst = 0;
      for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(logits[i] - plain[i]));
      expect(worst).toBeLessThan(1e-10);
    });
  }

  it('is causal: changing a later token leaves earlier logits unchanged', () => {
    const config = PRESETS.tinyLora;
    const params = randomParams(config, 3);
    const { inputIds } = batch(config, 1, 6, 4);
    const before = referenceForward(params, config, inputIds, 1, 6).logits;
    inputIds[4] = (inputIds[4] + 1) % config.vocab_size;
    const after = referenceForward(params, config, inputIds, 1, 6).logits;
    const V = config.vocab_size;
    expect(Array.from(after.subarray(0, 4 * V))).toEqual(Array.from(before.subarray(0, 4 * V)));
    expect(Array.from(after.subarray(4 * V))).not.toEqual(Array.from(before.subarray(4 * V)));
  });

  // logits have std ≈ 0.02·sqrt(D) ≈ 0.11, so the mean loss over 12 rows sits within a few 0.03 of ln V.
  it('starts near uniform (loss ≈ ln V) from initParams', () => {
    const config = PRESETS.tiny;
    const params = toFloat64Params(initParams(config, 5));
    const { inputIds, targets } = batch(config, 2, 7, 6);
    expect(Math.abs(referenceLoss(params, config, inputIds, targets, 2, 7) - Math.log(256))).toBeLessThan(0.2);
  });

  it('cache shapes agree with layerActivationShapes / finalActivationShapes', () => {
    for (const config of [PRESETS.tiny, PRESETS.tinyLora]) {
      const [B, S] = [2, 3];
      const params = randomParams(config, 8);
      const { cache, logits } = referenceForward(params, config, batch(config, B, S, 9).inputIds, B, S);
      expect(logits.length).toBe(B * S * config.vocab_size);
      const shapes = layerActivationShapes(config, B, S);
      for (const layer of cache.layers) {
        for (const [name, shape] of Object.entries(shapes)) {
          const arr = layer[name as keyof typeof layer];
          expect(arr === null, name).toBe(shape === null);
          if (shape && arr) expect(arr.length, name).toBe(numel(shape));
        }
      }
      for (const [name, shape] of Object.entries(finalActivationShapes(config, B, S))) {
        expect(cache.final[name as keyof typeof cache.final].length, name).toBe(numel(shape));
      }
    }
  });

  it('all targets ignored: loss 0 and zero gradients', () => {
    const config = PRESETS.tiny;
    const params = randomParams(config, 1);
    const inputIds = randomInts(6, config.vocab_size, 2);
    const { loss, grads } = referenceLossAndGrads(params, config, inputIds, new Int32Array(6).fill(IGNORE_INDEX), 2, 3);
    expect(loss).toBe(0);
    for (const g of grads.values()) expect(g.every((x) => x === 0)).toBe(true);
  });

  it('rejects bad inputs with clear errors', () => {
    const config = PRESETS.tiny;
    const params = randomParams(config, 1);
    expect(() => referenceForward(params, config, new Int32Array(5), 2, 3)).toThrow(/inputIds has length 5, expected B·S = 6/);
    expect(() => referenceForward(params, config, new Int32Array(65), 1, 65)).toThrow(/exceeds max_position_embeddings 64/);
    const broken = new Map(params);
    broken.delete('model.norm.weight');
    broken.set('lm_head.weight', new Float64Array(3));
    expect(() => referenceForward(broken, config, new Int32Array(2), 1, 2)).toThrow(/missing model\.norm\.weight.*lm_head\.weight has 3 elements/);
  });
});

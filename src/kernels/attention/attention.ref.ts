/**
 * float64 references for causal multi-head attention.
 * q, k: [B,S,H,dqk]; v, o: [B,S,H,dv]; lse: [B,H,S]. dqk ≠ dv is allowed
 * (MLA has dqk = dn+dr). `scale` is passed in (1/sqrt(dqk) in the model).
 */
import { expectDim, expectLength } from '../testing/shape';

interface Dims {
  B: number;
  S: number;
  H: number;
  dqk: number;
  dv: number;
}

/** o = softmax(scale·q·kᵀ + causal mask)·v, and lse = log-sum-exp of each query row's scaled, masked scores. */
export function attentionForward(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  B: number,
  S: number,
  H: number,
  dqk: number,
  dv: number,
  scale: number,
): { o: Float64Array; lse: Float64Array } {
  const dims = { B, S, H, dqk, dv };
  checkInputs('attentionForward', q, k, v, dims);
  const o = new Float64Array(B * S * H * dv);
  const lse = new Float64Array(B * H * S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < S; i++) {
        const scores = rowScores(q, k, dims, b, h, i, scale);
        const rowLse = logSumExp(scores);
        lse[(b * H + h) * S + i] = rowLse;
        const out = qkIndex(dims, b, i, h, dv);
        for (let j = 0; j <= i; j++) {
          const p = Math.exp(scores[j] - rowLse);
          const vj = qkIndex(dims, b, j, h, dv);
          for (let d = 0; d < dv; d++) o[out + d] += p * v[vj + d];
        }
      }
    }
  }
  return { o, lse };
}

/**
 * Flash-attention backward: P is recomputed from lse, and with
 * Δᵢ = rowsum(dOᵢ∘Oᵢ) the softmax gradient is dSᵢⱼ = Pᵢⱼ·(dOᵢ·vⱼ − Δᵢ).
 * Then dq = scale·dS·k, dk = scale·dSᵀ·q, dv = Pᵀ·dO.
 */
export function attentionBackward(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  o: Float64Array,
  lse: Float64Array,
  dO: Float64Array,
  B: number,
  S: number,
  H: number,
  dqk: number,
  dv: number,
  scale: number,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const dims = { B, S, H, dqk, dv };
  checkInputs('attentionBackward', q, k, v, dims);
  expectLength('attentionBackward', 'o', o, B * S * H * dv);
  expectLength('attentionBackward', 'dO', dO, B * S * H * dv);
  expectLength('attentionBackward', 'lse', lse, B * H * S);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const gradV = new Float64Array(v.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < S; i++) {
        const scores = rowScores(q, k, dims, b, h, i, scale);
        const oi = qkIndex(dims, b, i, h, dv);
        const qi = qkIndex(dims, b, i, h, dqk);
        const delta = dot(dO, oi, o, oi, dv);
        for (let j = 0; j <= i; j++) {
          const p = Math.exp(scores[j] - lse[(b * H + h) * S + i]);
          const vj = qkIndex(dims, b, j, h, dv);
          const kj = qkIndex(dims, b, j, h, dqk);
          for (let d = 0; d < dv; d++) gradV[vj + d] += p * dO[oi + d];
          const dS = p * (dot(dO, oi, v, vj, dv) - delta) * scale;
          for (let d = 0; d < dqk; d++) {
            dq[qi + d] += dS * k[kj + d];
            dk[kj + d] += dS * q[qi + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv: gradV };
}

/** Scaled scores of query i against keys 0…i (the causal prefix). */
function rowScores(q: Float64Array, k: Float64Array, dims: Dims, b: number, h: number, i: number, scale: number): Float64Array {
  const scores = new Float64Array(i + 1);
  const qi = qkIndex(dims, b, i, h, dims.dqk);
  for (let j = 0; j <= i; j++) scores[j] = scale * dot(q, qi, k, qkIndex(dims, b, j, h, dims.dqk), dims.dqk);
  return scores;
}

function logSumExp(xs: Float64Array): number {
  let max = -Infinity;
  for (const x of xs) max = Math.max(max, x);
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

/** Start of the length-`width` vector at [b, s, h] of a [B,S,H,width] tensor. */
function qkIndex(dims: Dims, b: number, s: number, h: number, width: number): number {
  return ((b * dims.S + s) * dims.H + h) * width;
}

function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += a[ai + d] * b[bi + d];
  return s;
}

function checkInputs(op: string, q: Float64Array, k: Float64Array, v: Float64Array, dims: Dims): void {
  for (const [name, value] of Object.entries(dims)) expectDim(op, name, value);
  const tokens = dims.B * dims.S * dims.H;
  expectLength(op, 'q', q, tokens * dims.dqk);
  expectLength(op, 'k', k, tokens * dims.dqk);
  expectLength(op, 'v', v, tokens * dims.dv);
}

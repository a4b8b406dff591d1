/**
 * Deterministic initial weights: normal(0, initializer_range) for matrices
 * and the embedding, ones for norm gains, as transformers initializes them.
 *
 * The initial weights of a run come from the checkpoint that the run serves,
 * NOT from each client calling this function: Box–Muller goes through
 * Math.log / Math.cos / Math.sin, whose last bits differ between JavaScript
 * engines, so two browsers with the same seed may disagree in a few f32 bits,
 * and replicas must be bit-identical (docs/design.md §2, §4). Use this to make the
 * run's first checkpoint (once, on one machine) and in tests.
 */
import { numel, parameterSpecs, type ModelConfig, type ParamSpec } from './config';

export function initParams(config: ModelConfig, seed: number): Map<string, Float32Array> {
  if (!Number.isInteger(seed)) throw new RangeError(`initParams: seed must be an integer, got ${seed}`);
  const params = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) params.set(spec.name, initTensor(spec, seed, config.initializer_range));
  return params;
}

function initTensor(spec: ParamSpec, seed: number, std: number): Float32Array {
  const n = numel(spec.shape);
  if (spec.init === 'ones') return new Float32Array(n).fill(1);
  // One stream per tensor, keyed by its name, so a tensor's values do not
  // depend on which other tensors the config has (q_proj vs q_a/q_b).
  return Float32Array.from(normals(n, streamSeed(seed, spec.name), std));
}

/** n samples of normal(0, std) in float64 (Box–Muller on a 53-bit uniform). */
function normals(n: number, seed: number, std: number): Float64Array {
  const next = splitmix32(seed);
  const uniform = () => ((next() >>> 11) * 2 ** 32 + next()) / 2 ** 53; // [0, 1) with 53 bits
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 − u ∈ (0, 1], so the log is finite
    const phi = 2 * Math.PI * uniform();
    out[i] = std * r * Math.cos(phi);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(phi);
  }
  return out;
}

/** FNV-1a of the name mixed with the seed. */
function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return (h ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

/** SplitMix32: a small, well-mixed 32-bit generator; returns u32. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

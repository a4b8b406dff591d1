/**
 * Generation speed with onnxruntime-web: the ONNX model (src/generate) of a
 * preset with fresh weights, a prompt prefilled once (timed after one
 * warm-up run) and greedy decode steps on its cache, per backend. Prefill
 * tokens/s = prompt tokens / prefill time; decode tokens/s = decoded tokens
 * / their time. Random weights cost what trained ones do.
 */
import { getPreset, parameterCount } from '../src/model/config';
import { initParams } from '../src/model/init';
import { buildMlaOnnx } from '../src/generate/mla-onnx';
import { MlaSession, type Backend } from '../src/generate/mla-session';
import { ort } from '../src/generate/ort-browser';
import { argmax } from '../src/generate/sampling';

export interface GenerationSpec {
  preset: string;
  promptTokens: number;
  decodeTokens: number;
  backends: Backend[];
}

export interface GenerationResult {
  preset: string;
  parameters: number;
  promptTokens: number;
  decodeTokens: number;
  buildMs: number;
  backends: { backend: Backend; loadMs: number; prefillTokensPerSec: number | null; decodeTokensPerSec: number | null; error: string | null }[];
}

export async function benchGeneration(spec: GenerationSpec, log: (line: string) => void): Promise<GenerationResult> {
  const config = getPreset(spec.preset);
  const t0 = performance.now();
  const model = buildMlaOnnx(config, initParams(config, 1));
  const buildMs = performance.now() - t0;
  const prompt = Array.from({ length: spec.promptTokens }, (_, i) => (i * 7919) % config.vocab_size);
  const backends: GenerationResult['backends'] = [];
  for (const backend of spec.backends) {
    log(`generation ${spec.preset} on ${backend}`);
    const l0 = performance.now();
    let session: MlaSession | null = null;
    try {
      session = await MlaSession.create(ort, model, config, backend);
      const loadMs = performance.now() - l0;
      await session.prefill(prompt); // warm-up: kernels compiled, buffers made
      const p0 = performance.now();
      let logits = await session.prefill(prompt);
      const prefillMs = performance.now() - p0;
      const d0 = performance.now();
      for (let i = 0; i < spec.decodeTokens; i++) logits = await session.decode(argmax(logits.subarray(logits.length - config.vocab_size)));
      const decodeMs = performance.now() - d0;
      backends.push({ backend, loadMs, prefillTokensPerSec: (1000 * spec.promptTokens) / prefillMs, decodeTokensPerSec: (1000 * spec.decodeTokens) / decodeMs, error: null });
    } catch (err) {
      backends.push({ backend, loadMs: performance.now() - l0, prefillTokensPerSec: null, decodeTokensPerSec: null, error: err instanceof Error ? err.message : String(err) });
    } finally {
      await session?.release();
    }
  }
  return { preset: spec.preset, parameters: parameterCount(config), promptTokens: spec.promptTokens, decodeTokens: spec.decodeTokens, buildMs, backends };
}

/**
 * The generation worker: builds the ONNX model from a checkpoint, runs it
 * with onnxruntime-web (WebGPU, or wasm where WebGPU is missing, busy or
 * failing) and streams text, so generation never blocks the page.
 */
import { z } from 'zod';
import { importCheckpoint } from '../model/checkpoint';
import { parameterCount } from '../model/config';
import { generate } from './generate';
import { ToGenerateWorkerSchema, type FromGenerateWorker, type ToGenerateWorker } from './generate-protocol';
import { buildMlaOnnx } from './mla-onnx';
import { MlaSession, type Backend } from './mla-session';
import { ort } from './ort-browser';
import { tokenizerForVocab, TextStream } from './text-stream';

let session: MlaSession | null = null;
const stopped = new Set<number>();
let queue: Promise<void> = Promise.resolve();

function post(msg: FromGenerateWorker): void {
  (self as unknown as Worker).postMessage(msg);
}

self.onmessage = (ev: MessageEvent) => {
  const parsed = ToGenerateWorkerSchema.safeParse(ev.data);
  if (!parsed.success) {
    const message = `generation worker: rejected a malformed message: ${z.prettifyError(parsed.error)}`;
    console.error(message);
    post({ type: 'error', id: typeof ev.data?.id === 'number' ? ev.data.id : null, message });
    return;
  }
  const msg = parsed.data;
  if (msg.type === 'stop') {
    stopped.add(msg.id);
    return;
  }
  queue = queue.then(() => handle(msg)).catch(() => {});
};

async function handle(msg: Exclude<ToGenerateWorker, { type: 'stop' }>): Promise<void> {
  try {
    if (msg.type === 'load') await load(msg);
    else await run(msg);
  } catch (err) {
    console.error(err);
    post({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
}

async function load(msg: Extract<ToGenerateWorker, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  await session?.release();
  session = null;
  const { config, params } = importCheckpoint(msg.checkpoint);
  const tokenizer = tokenizerForVocab(config.vocab_size);
  const model = buildMlaOnnx(config, params);
  let fallback: string | null = null;
  const tryBackend = (b: Backend) => MlaSession.create(ort, model, config, b);
  if (msg.backend === 'wasm') session = await tryBackend('wasm');
  else if (msg.backend === 'webgpu') session = await tryBackend('webgpu');
  else if (!('gpu' in navigator)) {
    fallback = 'this browser has no WebGPU';
    session = await tryBackend('wasm');
  } else {
    try {
      session = await tryBackend('webgpu');
      // One token proves the backend runs this graph, not just loads it.
      await session.prefill([0]);
    } catch (err) {
      fallback = `WebGPU failed: ${err instanceof Error ? err.message : String(err)}`;
      await session?.release().catch(() => {});
      session = await tryBackend('wasm');
    }
  }
  post({ type: 'loaded', id: msg.id, backend: session.backend, fallback, tokenizer: tokenizer.name, parameters: parameterCount(config), maxPositions: config.max_position_embeddings, ms: performance.now() - t0 });
}

async function run(msg: Extract<ToGenerateWorker, { type: 'generate' }>): Promise<void> {
  const s = session;
  if (!s) throw new Error('generation worker: load a checkpoint first');
  const tokenizer = tokenizerForVocab(s.config.vocab_size);
  const prompt = tokenizer.encode(msg.prompt).slice(-(s.config.max_position_embeddings - 1));
  const text = new TextStream(tokenizer);
  let count = 0;
  let reason: 'max' | 'eot' | 'stopped' = 'eot';
  for await (const t of generate(s, prompt, { sampling: msg.sampling, maxTokens: msg.maxTokens, eotToken: tokenizer.eotToken, seed: msg.seed, stopped: () => stopped.has(msg.id) })) {
    count = t.count;
    post({ type: 'text', id: msg.id, text: text.push(t.token), count, prefillTokensPerSec: t.prefillTokensPerSec, decodeTokensPerSec: t.decodeTokensPerSec });
  }
  if (stopped.delete(msg.id)) reason = 'stopped';
  else if (count >= Math.min(msg.maxTokens, s.config.max_position_embeddings - prompt.length)) reason = 'max';
  const rest = text.flush();
  if (rest) post({ type: 'text', id: msg.id, text: rest, count: Math.max(1, count), prefillTokensPerSec: 0, decodeTokensPerSec: 0 });
  post({ type: 'done', id: msg.id, count, reason, promptTokens: prompt.length });
}

import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../model/config';
import { initParams } from '../model/init';
import { generate } from './generate';
import { buildMlaOnnx } from './mla-onnx';
import { MlaSession } from './mla-session';
import { GREEDY } from './sampling';

ort.env.wasm.numThreads = 1;
const config = PRESETS.tiny;
const model = buildMlaOnnx(config, initParams(config, 3));

async function collect(prompt: number[], o: Partial<Parameters<typeof generate>[2]>) {
  const session = await MlaSession.create(ort, model, config, 'wasm');
  const out: Awaited<ReturnType<ReturnType<typeof generate>['next']>>['value'][] = [];
  for await (const t of generate(session, prompt, { sampling: GREEDY, maxTokens: 10, eotToken: null, seed: 1, ...o })) out.push(t);
  return out;
}

describe('generate', () => {
  it('yields max tokens, counted, with rates', async () => {
    const out = await collect([1, 2, 3], { maxTokens: 10 });
    expect(out.map((t) => t!.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(out[0]!.prefillTokensPerSec).toBeGreaterThan(0);
    expect(out[9]!.decodeTokensPerSec).toBeGreaterThan(0);
  });

  it('stops when asked, before the next token', async () => {
    let n = 0;
    const out = await collect([1, 2, 3], { maxTokens: 30, stopped: () => n++ >= 4 });
    expect(out).toHaveLength(4);
  });

  it('ends at the end-of-text token without yielding it', async () => {
    const all = await collect([5, 6], { maxTokens: 20 });
    const eot = all[3]!.token;
    const cut = await collect([5, 6], { maxTokens: 20, eotToken: eot });
    expect(cut.map((t) => t!.token)).toEqual(all.slice(0, all.findIndex((t) => t!.token === eot)).map((t) => t!.token));
  });

  it('never runs past the model’s positions', async () => {
    const prompt = Array.from({ length: config.max_position_embeddings - 3 }, (_, i) => i % config.vocab_size);
    expect(await collect(prompt, { maxTokens: 50 })).toHaveLength(3);
    await expect(collect(Array.from({ length: config.max_position_embeddings }, () => 1), {})).rejects.toThrow(/no room/);
  });

  it('samples the same text for the same seed', async () => {
    const sampling = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };
    const a = await collect([9], { sampling, seed: 7, maxTokens: 16 });
    const b = await collect([9], { sampling, seed: 7, maxTokens: 16 });
    expect(a.map((t) => t!.token)).toEqual(b.map((t) => t!.token));
  });
});

/**
 * The devtools model API in real Chromium: safetensors export then import
 * gives the identical loss, checksum and logits, with Hugging Face names.
 */
import { expect, test } from '@playwright/test';

test('safetensors round trip keeps the loss bit-identical; names are HF DeepseekV3 ones', async ({ page }) => {
  page.on('console', (m) => { if (m.type() === 'error') console.log('[page]', m.text()); });
  await page.goto('/#/model');
  await page.waitForFunction(() => 'tessera' in globalThis);
  const r = await page.evaluate(async () => {
    const t = (globalThis as any).tessera;
    const B = 2, S = 9;
    const inputIds = Int32Array.from({ length: B * S }, (_, i) => (i * 37 + 11) % 256);
    const targets = Int32Array.from({ length: B * S }, (_, i) => (i % 4 === 3 ? -100 : (i * 53 + 7) % 256));
    const batch = { inputIds, targets, batch: B, seqLen: S };
    const a = await t.model.create('tinyLora', 5);
    const before = await a.lossAndGrads(batch);
    const bytes: Uint8Array = await a.toSafetensors();
    const configJson = JSON.parse(a.configJson());
    const b = await t.model.fromSafetensors(bytes);
    const after = await b.lossAndGrads(batch);
    const logitsA: Float32Array = await a.logits({ inputIds, batch: B, seqLen: S });
    const logitsB: Float32Array = await b.logits({ inputIds, batch: B, seqLen: S });
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    const shapes = Object.fromEntries(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([k, v]: [string, any]) => [k, v.shape]));
    const other = await t.model.create('tinyLora', 6);
    const otherChecksum = await other.checksum();
    other.dispose();
    const result = {
      otherChecksum,
      lossBefore: before.loss,
      lossAfter: after.loss,
      checksumA: await a.checksum(),
      checksumB: await b.checksum(),
      logitsEqual: logitsA.length === logitsB.length && logitsA.every((x, i) => Object.is(x, logitsB[i])),
      logitsLength: logitsA.length,
      gradNames: Object.keys(before.grads),
      shapes,
      configJson,
    };
    a.dispose();
    b.dispose();
    return result;
  });
  expect(Number.isFinite(r.lossBefore)).toBe(true);
  expect(r.lossAfter).toBe(r.lossBefore);
  expect(r.checksumA).toMatch(/^[0-9a-f]{16}$/);
  expect(r.checksumB).toBe(r.checksumA);
  expect(r.otherChecksum).not.toBe(r.checksumA);
  expect(r.logitsEqual).toBe(true);
  expect(r.logitsLength).toBe(2 * 9 * 256);
  // tinyLora: hidden 32, q_lora_rank 24, 2 heads, dn 8, dr 4, dv 8, kv_lora_rank 16, intermediate 64.
  expect(r.shapes['model.embed_tokens.weight']).toEqual([256, 32]);
  expect(r.shapes['model.layers.0.self_attn.q_a_proj.weight']).toEqual([24, 32]);
  expect(r.shapes['model.layers.0.self_attn.q_b_proj.weight']).toEqual([2 * 12, 24]);
  expect(r.shapes['model.layers.1.self_attn.kv_a_proj_with_mqa.weight']).toEqual([16 + 4, 32]);
  expect(r.shapes['model.layers.1.self_attn.kv_b_proj.weight']).toEqual([2 * 16, 16]);
  expect(r.shapes['model.layers.1.self_attn.o_proj.weight']).toEqual([32, 16]);
  expect(r.shapes['model.layers.1.mlp.down_proj.weight']).toEqual([32, 64]);
  expect(r.shapes['lm_head.weight']).toEqual([256, 32]);
  expect(Object.keys(r.shapes).sort()).toEqual([...r.gradNames].sort());
  expect(r.configJson.model_type).toBe('deepseek_v3');
  expect(r.configJson.architectures).toEqual(['DeepseekV3ForCausalLM']);
  expect(r.configJson.rope_interleave).toBe(true);
});

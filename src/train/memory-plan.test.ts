/**
 * The memory plan: the micro-batch it picks for a budget and the adapter's
 * limits, a clear refusal with the sizes when the model cannot fit, and (on a
 * WebGPU adapter) its counts against the buffers a real replica allocates.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../gpu/gpu';
import { tryNodeGpu } from '../gpu/test-node-gpu';
import { mulberry32 } from '../kernels/testing/random';
import { modelMemory } from '../model/batch-memory';
import { getPreset } from '../model/config';
import { GpuModel, type TokenBatch } from '../model/gpu-model';
import { DemoReplica, demoBufferBytes, randomRunId } from './demo-trainer';
import { planMemory, type PlanInput } from './memory-plan';
import { demoTable } from '../kernels/demo/demo-table';
import { planLayout } from '../model/param-layout';
import { parameterSpecs } from '../model/config';

const WEBGPU_DEFAULT_LIMITS = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  model: getPreset('tinyDemo'),
  seqLen: 64,
  optimizer: { chunk: 64, topk: 8 },
  maxSequences: 64,
  maxUpdates: 16,
  budget: 2 * 2 ** 30,
  limits: WEBGPU_DEFAULT_LIMITS,
  ...over,
});

describe('planMemory', () => {
  it('gives a roomy tab micro-batches of a whole proof unit, and a tight one fewer sequences at a time', () => {
    const roomy = planMemory(input());
    expect(roomy).toMatchObject({ fits: true, microBatch: 8, reason: null });
    expect(roomy.bytes.total).toBeLessThanOrEqual(roomy.budget);
    expect(roomy.bytes.weights).toBe(4 * planLayout(parameterSpecs(getPreset('tinyDemo'))).totalFloats);
    // A budget that holds the fixed part and three sequences' activations, not four.
    const fixed = roomy.bytes.total - roomy.bytes.activations;
    const three = modelMemory(getPreset('tinyDemo'), { B: 3, S: 64 }).pool;
    const tight = planMemory(input({ budget: fixed + three + 1 }));
    expect(tight).toMatchObject({ fits: true, microBatch: 3 });
    expect(tight.bytes.activations).toBe(three);
    expect(tight.bytes.total).toBeLessThanOrEqual(tight.budget);
  });

  it('never crosses a proof unit: with 8 sequences or fewer a micro-batch is one sequence', () => {
    expect(planMemory(input({ maxSequences: 8 })).microBatch).toBe(1);
    expect(planMemory(input({ maxSequences: 20 })).microBatch).toBe(3);
  });

  it('refuses a model it cannot hold, naming the sizes, before anything is downloaded', () => {
    const small = planMemory(input({ budget: 2 ** 20 }));
    expect(small.fits).toBe(false);
    expect(small.microBatch).toBe(0);
    expect(small.reason).toMatch(/^this tab cannot train this model: the model needs [\d.]+ MiB \(weights [\d.]+ (KiB|MiB), gradients .*momentum .*DeMo .*one sequence's activations .*\), more than the 1\.0 MiB this tab may use$/);
    // A 50 K-vocabulary model's logits for 4096 tokens outgrow a 128 MiB binding.
    const wide = planMemory(input({ model: getPreset('bpe-small'), seqLen: 256, maxSequences: 8, limits: { maxBufferSize: 2 ** 26, maxStorageBufferBindingSize: 2 ** 26 } }));
    expect(wide.fits).toBe(false);
    expect(wide.reason).toMatch(/buffers?, but this GPU binds at most 64\.0 MiB/);
  });
});

const gpu = await tryNodeGpu();

function batchOf(seed: number, batch: number, seqLen: number): TokenBatch {
  const r = mulberry32(seed);
  const stream = Int32Array.from({ length: batch * seqLen + 1 }, () => Math.floor(r() * 256));
  return { inputIds: stream.slice(0, batch * seqLen), targets: stream.slice(1), batch, seqLen };
}

describe.skipIf(gpu === null)('micro-batches on the GPU', () => {
  afterAll(() => gpu?.device.destroy());

  it('the accumulated micro-batch gradient is the full-batch gradient, and the plan counts the buffers the replica allocates', { timeout: 240_000 }, async () => {
    const g = gpu as Gpu;
    const config = getPreset('tinyDemo');
    const S = 32;
    // 24 sequences: 8 proof units of 3, so micro-batches of 2 split each unit 2 + 1.
    const batch = batchOf(3, 24, S);
    const full = GpuModel.create(g, config, 11);
    const want = (await full.lossAndGrads(batch)).grads;
    const wantLoss = await full.loss(batch);
    full.dispose();
    for (const micro of [1, 2, 3]) {
      // No clipping (a huge limit scales by exactly 1), so the gradient buffer keeps the accumulated sum: 24 times the mean.
      const replica = new DemoReplica(GpuModel.create(g, config, 11), { gradClip: 1e30 });
      replica.microBatch = micro;
      const u = await replica.computeUpdate(batch, 1e-2, { runId: randomRunId(), step: 1, batchStart: 0, batchCount: 24 });
      expect(u.loss).toBeCloseTo(wantLoss, 5);
      const got = await replica.model.readGrads();
      for (const [name, ref] of Object.entries(want)) {
        const max = ref.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
        const diff = (got.get(name) as Float32Array).reduce((a, x, i) => Math.max(a, Math.abs(x / 24 - ref[i])), 0);
        expect(diff, `${name}, micro-batches of ${micro}`).toBeLessThanOrEqual(1e-4 * max);
      }
      await replica.model.checksum();
      expect(replica.model.ctx.pool.bytes, `pool, micro-batches of ${micro}`).toBe(modelMemory(config, { B: micro, S }).pool);
      const table = demoTable(replica.model.ctx.layout.slots, 64, 8);
      const demo = demoBufferBytes(table, replica.model.ctx.layout.totalFloats);
      expect(replica.fixedBufferBytes).toBe(Object.values(demo).reduce((a, b) => a + b, 0));
      replica.dispose();
      replica.model.dispose();
    }
  });
});

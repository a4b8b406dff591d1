/**
 * Instant resume: the record a tab stores after an apply (IndexedDB, here
 * fake-indexeddb's implementation of it) and the replica restored from it.
 * The GPU part runs on Dawn through the `webgpu` package (SwiftShader without
 * a GPU) and is skipped when Dawn finds no adapter.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Gpu } from '../gpu/gpu';
import { tryNodeGpu } from '../gpu/test-node-gpu';
import { mulberry32 } from '../kernels/testing/random';
import { getPreset, parseModelConfig } from '../model/config';
import type { TokenBatch } from '../model/gpu-model';
import { GpuModel } from '../model/gpu-model';
import { DEFAULT_DEMO, DemoReplica, randomRunId } from './demo-trainer';
import { readRecord, restoreReplica, type Line } from './resume';
import { ResumeStore, resumeKey, type ResumeRecord } from './resume-store';

const RUN = '0123456789abcdef0123456789abcdef';
const HASH = 'ab'.repeat(32);

function record(over: Partial<ResumeRecord> = {}): ResumeRecord {
  return { runId: RUN, modelKey: 'm', step: 3, checksum: '0123456789abcdef', prevChecksum: 'fedcba9876543210', lastHashes: [HASH], momentumStep: 2, params: new Float32Array([1, 2, 3]), momentum: new Float32Array([4, 5, 6]), ...over };
}

describe('ResumeStore', () => {
  it('gives back the record of this run and model, and nothing else', async () => {
    const store = await ResumeStore.open('resume-test-1');
    expect(await store.load(RUN, 'm', 3)).toBeNull();
    await store.put(record());
    const back = await store.load(RUN, 'm', 3);
    expect(back?.params).toEqual(new Float32Array([1, 2, 3]));
    expect(back?.momentum).toEqual(new Float32Array([4, 5, 6]));
    expect(back?.lastHashes).toEqual([HASH]);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await store.load('f'.repeat(32), 'm', 3)).toBeNull();
    expect(await store.load(RUN, 'other', 3)).toBeNull();
    expect(await store.load(RUN, 'm', 4)).toBeNull();
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/belongs to run/),
      expect.stringMatching(/another model/),
      expect.stringMatching(/parameters are not 4 floats/),
    ]);
    await store.clear();
    expect(await store.load(RUN, 'm', 3)).toBeNull();
    warn.mockRestore();
    store.close();
  });

  it('refuses malformed records with the reason', async () => {
    const store = await ResumeStore.open('resume-test-2');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const bad: [Partial<ResumeRecord>, RegExp][] = [
      [{ step: 0 }, /step 0/],
      [{ momentumStep: 3 }, /momentum step 3/],
      [{ checksum: 'xyz' }, /checksums/],
      [{ lastHashes: ['12'] }, /hashes/],
      [{ momentum: new Float32Array(2) }, /momentum is not 3/],
    ];
    for (const [over, why] of bad) {
      await store.put(record(over));
      expect(await store.load(RUN, 'm', 3)).toBeNull();
      expect(String(warn.mock.calls.at(-1)?.[0])).toMatch(why);
    }
    warn.mockRestore();
    store.close();
  });

  it('stores big buffers in pieces and puts them back together; a missing piece refuses the record', async () => {
    const store = await ResumeStore.open('resume-test-3', 2);
    const params = Float32Array.from([1, 2, 3, 4, 5]);
    const momentum = Float32Array.from([-1, -2, -3, -4, -5]);
    await store.put(record({ params, momentum }));
    const back = await store.load(RUN, 'm', 5);
    expect(back?.params).toEqual(params);
    expect(back?.momentum).toEqual(momentum);
    // The pieces are there as separate keys (three of two floats at most, per buffer).
    const raw = await openDB('resume-test-3', 1);
    expect((await raw.getAllKeys('state')).map(String).sort()).toEqual(['latest', 'momentum:0', 'momentum:1', 'momentum:2', 'params:0', 'params:1', 'params:2']);
    await raw.delete('state', 'momentum:1');
    raw.close();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await store.load(RUN, 'm', 5)).toBeNull();
    expect(String(warn.mock.calls.at(-1)?.[0])).toMatch(/momentum is not 5 floats/);
    warn.mockRestore();
    store.close();
  });

  it('keys a record by model config, DeMo settings and sequence length', () => {
    const m = parseModelConfig(getPreset('tinyDemo'));
    expect(resumeKey(m, DEFAULT_DEMO, 32)).toBe(resumeKey(m, { ...DEFAULT_DEMO }, 32));
    expect(resumeKey(m, DEFAULT_DEMO, 32)).not.toBe(resumeKey(m, { ...DEFAULT_DEMO, topk: 4 }, 32));
    expect(resumeKey(m, DEFAULT_DEMO, 32)).not.toBe(resumeKey(m, DEFAULT_DEMO, 64));
  });
});

const gpu = await tryNodeGpu();

function batchOf(seed: number, batch: number, seqLen: number): TokenBatch {
  const r = mulberry32(seed);
  const stream = Int32Array.from({ length: batch * seqLen + 1 }, () => Math.floor(r() * 256));
  return { inputIds: stream.slice(0, batch * seqLen), targets: stream.slice(1), batch, seqLen };
}

describe.skipIf(gpu === null)('a replica restored from its record', () => {
  afterAll(() => gpu?.device.destroy());

  it('computes the same update bytes as the replica it was saved from; without its momentum it would not', { timeout: 240_000 }, async () => {
    const g = gpu as Gpu;
    const config = parseModelConfig(getPreset('tinyDemo'));
    const runId = randomRunId();
    const lr = 1e-2;
    const original = new DemoReplica(GpuModel.create(g, config, 7));
    const other = new DemoReplica(GpuModel.create(g, config, 7));
    // Round 0: two tabs train, both apply both updates.
    const u0 = await original.computeUpdate(batchOf(1, 2, 32), lr, { runId, step: 0, batchStart: 0, batchCount: 2 });
    const v0 = await other.computeUpdate(batchOf(2, 2, 32), lr, { runId, step: 0, batchStart: 2, batchCount: 2 });
    const before = await original.model.checksum();
    const { checksum } = await original.applyAgreed([u0.bytes, v0.bytes], lr, 0);
    const line: Line = { step: 1, checksum, prevChecksum: before, lastHashes: [HASH, HASH], momentumStep: 0 };
    const saved = await readRecord(original, RUN, 'm', line);
    expect(saved).toMatchObject(line);
    // The momentum is really there: round 0 fed it.
    expect(saved.momentum.some((x) => x !== 0)).toBe(true);

    const restored = await restoreReplica(g, config, DEFAULT_DEMO, saved);
    expect(await restored.model.checksum()).toBe(checksum);
    const header = { runId, step: 1, batchStart: 4, batchCount: 2 };
    const next = batchOf(3, 2, 32);
    const a = await original.computeUpdate(next, lr, header);
    const b = await restored.computeUpdate(next, lr, header);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);

    // The control: the same parameters with the momentum restarted at zero give other bytes.
    const zeroed = await restoreReplica(g, config, DEFAULT_DEMO, { ...saved, momentum: new Float32Array(saved.momentum.length) });
    const c = await zeroed.computeUpdate(next, lr, header);
    expect(Buffer.from(c.bytes).equals(Buffer.from(a.bytes))).toBe(false);

    // A record damaged in storage is refused.
    const damaged = { ...saved, params: saved.params.slice() };
    damaged.params[0] += 1;
    await expect(restoreReplica(g, config, DEFAULT_DEMO, damaged)).rejects.toThrow(/hash to .* their record says/);
    for (const r of [original, other, restored, zeroed]) {
      r.dispose();
      r.model.dispose();
    }
  });
});

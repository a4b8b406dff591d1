/**
 * The same DeMo updates applied by every engine a run admits: Chromium (Dawn
 * on SwiftShader), Firefox (wgpu/naga on lavapipe), and Node (Dawn through
 * the `webgpu` package, as the headless client runs it). The integer decode
 * must give the same float32 bits everywhere, and those of the CPU's exact
 * reference: that is what keeps a mixed run's replicas identical.
 *
 * The cases cover the sparse and the dense paths of apply: a few updates
 * that touch few rows and columns, and enough to cover every coefficient.
 */
import { chromium, type Browser as ChromiumBrowser } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { blockCount, blockShape, elementCount } from '../../src/demo/blocks';
import { demoApplyExact } from '../../src/demo/integer-decode';
import { applyUpdates } from '../../src/devtools/demo-api';
import type { Gpu } from '../../src/gpu/gpu';
import { tryNodeGpu } from '../../src/gpu/test-node-gpu';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';
import { launchFirefox, webGpuProblem, type FirefoxSession } from './firefox';

interface Case {
  name: string;
  shape: number[];
  chunk: number;
  topk: number;
  updates: number;
  lr: number;
  weightDecay: number;
}

const CASES: Case[] = [
  { name: 'one update, awkward matrix', shape: [7, 33], chunk: 8, topk: 2, updates: 1, lr: 0.01, weightDecay: 0.1 },
  { name: 'a few updates, vector', shape: [130], chunk: 16, topk: 3, updates: 5, lr: 0.003, weightDecay: 0 },
  { name: 'a round of 40, matrix', shape: [24, 20], chunk: 8, topk: 4, updates: 40, lr: 0.02, weightDecay: 0.05 },
  { name: 'enough to cover every coefficient', shape: [64, 48], chunk: 16, topk: 8, updates: 520, lr: 1e-3, weightDecay: 0.01 },
];

/** Inputs as plain numbers, so that they cross into every page unchanged. */
interface Inputs {
  param: number[];
  shape: number[];
  chunk: number;
  lr: number;
  weightDecay: number;
  updates: { indices: number[]; values: number[] }[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Random params and valid 1-bit updates: k distinct ascending indices per block, signs ±1, ties among updates. */
function inputsOf(c: Case, seed: number): Inputs {
  const rand = lcg(seed);
  const block = blockShape(c.shape, c.chunk);
  const blocks = blockCount(c.shape, block);
  const perBlock = elementCount(block);
  const update = () => {
    const indices: number[] = [];
    const values: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const picks = new Set<number>();
      while (picks.size < Math.min(c.topk, perBlock)) picks.add(Math.floor(rand() * perBlock));
      for (const f of [...picks].sort((x, y) => x - y)) {
        indices.push(f);
        values.push(rand() < 0.5 ? -1 : 1);
      }
    }
    return { indices, values };
  };
  return {
    param: Array.from({ length: elementCount(c.shape) }, () => Math.fround(rand() * 2 - 1)),
    shape: c.shape,
    chunk: c.chunk,
    lr: Math.fround(c.lr),
    weightDecay: Math.fround(c.weightDecay),
    updates: Array.from({ length: c.updates }, update),
  };
}

function exact(i: Inputs, topk: number): Float32Array {
  return demoApplyExact({
    param: Float32Array.from(i.param),
    shape: i.shape,
    chunk: i.chunk,
    topk,
    lr: i.lr,
    weightDecay: i.weightDecay,
    updates: i.updates.map((u) => ({ indices: Uint32Array.from(u.indices), values: Float64Array.from(u.values) })),
  });
}

/** What runs in a page: the devtools API, with typed arrays rebuilt there. */
async function applyInPage(i: Inputs): Promise<number[]> {
  const t = (globalThis as any).tessera;
  const out: Float32Array = await t.demo.apply({
    param: Float32Array.from(i.param),
    shape: i.shape,
    chunk: i.chunk,
    lr: i.lr,
    weightDecay: i.weightDecay,
    updates: i.updates.map((u) => ({ indices: Uint32Array.from(u.indices), values: Float32Array.from(u.values) })),
  });
  return Array.from(out);
}

/** Index of the first element whose bits differ, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return 0;
  return x.findIndex((v, k) => v !== y[k]);
}

let firefox: FirefoxSession | undefined;
let chromiumBrowser: ChromiumBrowser | undefined;
let engines: Promise<{ node: Gpu; apply: Record<'chromium' | 'firefox', (i: Inputs) => Promise<number[]>> }>;

async function start() {
  const node = await tryNodeGpu();
  if (!node) throw new Error('Dawn in Node found no adapter (is Chromium, with its SwiftShader Vulkan driver, installed?)');
  const url = inject('buildUrl');
  firefox = await launchFirefox();
  await firefox.page.goto(url);
  const problem = await webGpuProblem(firefox.page);
  if (problem) throw new Error(problem);
  await firefox.page.waitForFunction(() => 'tessera' in globalThis, { timeout: 60_000 });
  chromiumBrowser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const page = await chromiumBrowser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => 'tessera' in globalThis, undefined, { timeout: 60_000 });
  const ff = firefox.page;
  return {
    node,
    apply: {
      chromium: (i: Inputs) => page.evaluate(applyInPage, i),
      firefox: (i: Inputs) => ff.evaluate(applyInPage, i),
    },
  };
}

beforeAll(() => {
  engines = start();
  engines.catch(() => undefined);
});

afterAll(async () => {
  await firefox?.close();
  await chromiumBrowser?.close();
});

CASES.forEach((c, n) => {
  test(`DeMo apply gives the same bits in Chromium, Firefox and Node: ${c.name}`, async () => {
    const { node, apply } = await engines;
    const inputs = inputsOf(c, 1000 + n);
    const want = exact(inputs, c.topk);
    const got = {
      node: await applyUpdates(
        {
          param: Float32Array.from(inputs.param),
          shape: inputs.shape,
          chunk: inputs.chunk,
          lr: inputs.lr,
          weightDecay: inputs.weightDecay,
          updates: inputs.updates.map((u) => ({ indices: Uint32Array.from(u.indices), values: u.values })),
        },
        node,
      ),
      chromium: Float32Array.from(await apply.chromium(inputs)),
      firefox: Float32Array.from(await apply.firefox(inputs)),
    };
    // The step must move weights, or equal bits would prove nothing.
    const moved = want.filter((v, k) => v !== Math.fround(inputs.param[k] * Math.fround(1 - Math.fround(inputs.lr * inputs.weightDecay)))).length;
    expect(moved).toBeGreaterThan(0);
    for (const [engine, out] of Object.entries(got)) {
      const at = firstDifference(out, want);
      expect(at, `${engine}: element ${at} is ${out[at]}, the exact decode gives ${want[at]}`).toBe(-1);
    }
  });
});

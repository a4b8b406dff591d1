/**
 * The same work on every engine a run admits (docs/design.md §14): our matmul
 * and a DeMo replica's round (forward + backward in micro-batches, encode,
 * decode of the agreed updates) in Chromium (Dawn), Firefox (wgpu/naga,
 * driven by puppeteer-core) and Node (Dawn through the `webgpu` package, as
 * the headless client runs it). The browsers run the bench page's own
 * functions; Node runs the same modules in this process.
 */
import type { Page } from '@playwright/test';
import type { Page as PuppeteerPage } from 'puppeteer-core';
import { launchFirefox, webGpuProblem } from '../e2e/firefox/firefox';
import { tryNodeGpu } from '../src/gpu/test-node-gpu';
import { benchDemoShare, type DemoShareResult, type DemoShareSpec } from './demo-share';
import { matmulSweep, parseTiles } from './node-matmul';
import type { MatmulBench, Size } from './types';

export interface EngineResult {
  engine: 'chromium' | 'firefox' | 'node';
  adapter: string;
  /** Ours, the nt layout, wall clock. */
  matmulGflops: number | null;
  /** Forward + backward tokens/s, and the whole round's (with DeMo). */
  trainTokensPerSec: number | null;
  roundTokensPerSec: number | null;
  demoShare: number | null;
  error?: string;
}

export interface EnginesSpec {
  matmul: Size;
  reps: number;
  round: DemoShareSpec;
}

type Evaluate = <A, R>(fn: (a: A) => Promise<R>, arg: A) => Promise<R>;

function fromRound(r: DemoShareResult): Pick<EngineResult, 'trainTokensPerSec' | 'roundTokensPerSec' | 'demoShare'> {
  return { trainTokensPerSec: r.trainTokensPerSec, roundTokensPerSec: r.roundTokensPerSec, demoShare: r.share };
}

/** Runs the spec through a bench page's tesseraBench, whichever browser holds the page. */
async function inPage(engine: 'chromium' | 'firefox', evaluate: Evaluate, spec: EnginesSpec): Promise<EngineResult> {
  const { M, N, K } = spec.matmul;
  const mm = await evaluate(
    (a: { size: [number, number, number]; reps: number }) => globalThis.tesseraBench.matmul([a.size], a.reps, { warmup: 1, trials: 3 }),
    { size: [M, N, K] as [number, number, number], reps: spec.reps },
  ) as MatmulBench;
  const ours = mm.results[0]?.entries.find((e) => e.impl === 'ours' && e.layout === 'nt');
  const round = await evaluate((s: DemoShareSpec) => globalThis.tesseraBench.demoShare(s), spec.round);
  return { engine, adapter: round.adapter, matmulGflops: ours?.gflops ?? null, ...fromRound(round) };
}

async function inNode(spec: EnginesSpec): Promise<EngineResult> {
  const gpu = await tryNodeGpu();
  if (!gpu) throw new Error('Dawn in Node found no adapter');
  try {
    const sweep = await matmulSweep(gpu, {
      sizes: [spec.matmul],
      layouts: ['nt'],
      tiles: parseTiles('default'),
      timing: { reps: spec.reps, warmup: 1, trials: 3 },
      deadline: Date.now() + 600_000,
      log: () => {},
    });
    const round = await benchDemoShare(gpu, spec.round, { log: () => {} });
    return { engine: 'node', adapter: round.adapter, matmulGflops: sweep.results[0]?.gflops ?? null, ...fromRound(round) };
  } finally {
    gpu.device.destroy();
  }
}

const failed = (engine: EngineResult['engine'], err: unknown): EngineResult => ({
  engine, adapter: '', matmulGflops: null, trainTokensPerSec: null, roundTokensPerSec: null, demoShare: null,
  error: err instanceof Error ? err.message : String(err),
});

/** Chromium through `page` (the bench page), then Firefox on the same page URL, then Node. An engine that fails is reported, not fatal. */
export async function benchEngines(page: Page, spec: EnginesSpec, log: (line: string) => void): Promise<EngineResult[]> {
  const results: EngineResult[] = [];
  log('[bench] engines: chromium');
  results.push(await inPage('chromium', (fn, arg) => page.evaluate(fn as never, arg) as never, spec).catch((e) => failed('chromium', e)));
  log('[bench] engines: firefox');
  results.push(await inFirefox(page.url(), spec).catch((e) => failed('firefox', e)));
  log('[bench] engines: node');
  results.push(await inNode(spec).catch((e) => failed('node', e)));
  return results;
}

async function inFirefox(url: string, spec: EnginesSpec): Promise<EngineResult> {
  const firefox = await launchFirefox();
  try {
    const page: PuppeteerPage = firefox.page;
    await page.goto(url);
    const problem = await webGpuProblem(page);
    if (problem) throw new Error(problem);
    await page.waitForFunction(() => 'tesseraBench' in globalThis, { timeout: 60_000 });
    return await inPage('firefox', (fn, arg) => page.evaluate(fn as never, arg) as never, spec);
  } finally {
    await firefox.close();
  }
}

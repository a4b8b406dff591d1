/**
 * npm run bench [-- --sizes 64,128,256,512x256x128 --reps 5 --warmup 1 --trials 3 --out bench-results/bench.json]
 *   [--training tiny:8x64,small:2x64] [--train-steps 3] [--sections matmul,training,demo] [--no-build]
 *   [--demo tinyDemo:4x2x32] [--demo-steps 30] [--demo-lr 3e-3] [--demo-adamw-lr 3e-3] [--demo-schedule constant|cosine|wsd] [--demo-warmup 0] [--demo-chunk 64] [--demo-topk 8] [--demo-wd 0]
 *   [--share tinyDemo:64x4,small:256x1,bpe-100m:16x1:0] [--share-tokens 4096] [--share-updates 8] [--share-steps 1] [--share-warmup 1]
 *
 * Builds the site into bench-results/site (not dist/, which the browser tests
 * build into), serves it with vite preview on a free port, opens bench.html in
 * Debian's Chromium (SwiftShader WebGPU here, the real GPU elsewhere), runs each
 * section, writes the JSON report and prints a table per section.
 *
 * A section is one entry in SECTIONS: it fills its key of the report and
 * prints its table. Sections: matmul, training, demo (DeMo, and DeMo one round
 * stale as pipelined rounds train, vs AdamW loss at equal tokens, tinyDemo), share (DeMo encode + decode as a share of a round
 * of --share-tokens per tab with --share-updates agreed updates, for each
 * preset of --share; bench/demo-share.ts says what is timed and what is
 * scaled), engines (the same matmul and DeMo round in Chromium, Firefox and
 * Node: bench/engines.ts), generation (onnxruntime-web prefill and decode
 * tokens/s, WebGPU against wasm: bench/generation.ts). The share section alone, its three default presets:
 *   npm run bench -- --sections share
 * (about 2 minutes on two SwiftShader cores after the build, most of it bpe-100m).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { parseArgs, type BenchArgs } from '../bench/args';
import { buildPage, servePage } from '../bench/serve';
import { fmt, formatTable, matmulTable } from '../bench/table';
import type { DemoBenchResult, DemoBenchSpec } from '../bench/demo';
import type { DemoShareResult, DemoShareSpec } from '../bench/demo-share';
import { demoShareHeadline, demoShareTable } from '../bench/demo-share-table';
import { benchEngines, type EngineResult } from '../bench/engines';
import type { GenerationResult } from '../bench/generation';
import type { ScheduleName } from '../src/train/schedule';
import type { TrainingResult, TrainingSpec } from '../bench/training';
import type { BenchReport, MatmulBench } from '../bench/types';
import { chromiumLaunchOptions } from '../e2e/chromium';

const SITE_DIR = 'bench-results/site';

interface Section {
  name: string;
  run(page: Page, args: BenchArgs, report: BenchReport): Promise<void>;
  print(report: BenchReport): void;
}

const matmulSection: Section = {
  name: 'matmul',
  async run(page, args, report) {
    const sizes = args.sizes.map((s) => [s.M, s.N, s.K]);
    const r = await page.evaluate(
      ([sz, reps, warmup, trials]) =>
        globalThis.tesseraBench.matmul(sz as [number, number, number][], reps as number, { warmup: warmup as number, trials: trials as number }),
      [sizes, args.reps, args.warmup, args.trials] as const,
    ) as MatmulBench;
    report.adapter = r.adapters;
    report.sameAdapter = sameAdapter(r);
    report.unavailable = r.unavailable;
    report.matmul = r.results;
  },
  print(report) {
    const results = report.matmul ?? [];
    const r0 = results[0];
    console.log(
      `\nmatmul GFLOP/s: wall clock per rep, ${r0?.reps ?? '?'} reps back to back then one GPU sync, ` +
        `median of ${r0?.trials ?? '?'} interleaved trials after ${report.env.warmup} warm-up run(s)`,
    );
    console.log(matmulTable(results));
    console.log(
      'ORT runs ONNX MatMul (B stored [K,N]) in both rows: ONNX MatMul has no transposed-B form. ' +
        '"!" = failed its check against ours; "GPU(ts)" = timestamp-query GPU time.',
    );
    for (const [impl, why] of Object.entries(report.unavailable ?? {})) console.log(`${impl} unavailable: ${why}`);
    for (const e of results.flatMap((r) => r.entries.filter((x) => x.error).map((x) => `${r.M}×${r.N}×${r.K} ${x.impl} ${x.layout}: ${x.error}`))) {
      console.log(`error: ${e}`);
    }
  },
};

/** `tiny:8x64` → preset tiny, batch 8, sequence length 64. */
function parseTrainingSpecs(raw: string, steps: number): TrainingSpec[] {
  return raw
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const m = /^([A-Za-z][\w-]*):(\d+)x(\d+)$/.exec(item);
      if (!m) throw new Error(`--training: "${item}" is not preset:BATCHxSEQLEN`);
      return { preset: m[1], batch: Number(m[2]), seqLen: Number(m[3]), steps };
    });
}

const trainingSection: Section = {
  name: 'training',
  async run(page, args, report) {
    const steps = Number(args.flags.get('train-steps') ?? 3);
    const specs = parseTrainingSpecs(String(args.flags.get('training') ?? 'tiny:8x64,small:2x64'), steps);
    const results: TrainingResult[] = [];
    for (const spec of specs) results.push((await page.evaluate((s) => globalThis.tesseraBench.training(s), spec)) as TrainingResult);
    report.training = results;
  },
  print(report) {
    const results = (report.training ?? []) as TrainingResult[];
    console.log('\ntraining (forward + backward + clip + AdamW on Austen text; byte-level presets on byte shards, BPE presets on GPT-2 shards)');
    console.log(
      formatTable(
        ['preset', 'params', 'batch×seq', 'ms/step', 'tokens/s', 'loss first→last'],
        results.map((r) => [
          r.preset,
          String(r.parameters),
          `${r.batch}×${r.seqLen}`,
          fmt(r.msPerStep),
          fmt(r.tokensPerSec),
          `${fmt(r.losses[0], 4)}→${fmt(r.losses[r.losses.length - 1], 4)}`,
        ]),
      ),
    );
    for (const r of results) {
      if (r.kernels.length === 0) continue;
      console.log(`\n${r.preset}: share of a profiled step (${fmt(r.profiledStepMs)} ms of GPU time, one pass per kernel)`);
      console.log(formatTable(['kernel', 'ms', 'calls', 'share'], r.kernels.slice(0, 15).map((k) => [k.label, fmt(k.ms), String(k.count), `${(k.share * 100).toFixed(1)}%`])));
    }
  },
};

/** `tiny:4x2x32` → preset tiny, 4 replicas, 2 sequences each, sequence length 32. */
function parseDemoSpec(flags: BenchArgs['flags']): DemoBenchSpec {
  const raw = String(flags.get('demo') ?? 'tinyDemo:4x2x32');
  const m = /^([A-Za-z][\w-]*):(\d+)x(\d+)x(\d+)$/.exec(raw);
  if (!m) throw new Error(`--demo: "${raw}" is not preset:REPLICASxBATCHxSEQLEN`);
  const num = (name: string, fallback?: number): number | undefined => {
    const v = flags.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name}: "${String(v)}" is not a number`);
    return n;
  };
  const lr = num('demo-lr', 3e-3) as number;
  return {
    preset: m[1],
    replicas: Number(m[2]),
    batchPerReplica: Number(m[3]),
    seqLen: Number(m[4]),
    steps: num('demo-steps', 30) as number,
    lr,
    adamwLr: num('demo-adamw-lr', lr),
    schedule: parseSchedule(flags.get('demo-schedule')),
    warmupSteps: num('demo-warmup'),
    chunk: num('demo-chunk'),
    topk: num('demo-topk'),
    weightDecay: num('demo-wd'),
  };
}

function parseSchedule(v: unknown): ScheduleName | undefined {
  if (v === undefined) return undefined;
  if (v === 'constant' || v === 'cosine' || v === 'wsd') return v;
  throw new Error(`--demo-schedule: "${String(v)}" is not constant, cosine or wsd`);
}

const demoSection: Section = {
  name: 'demo',
  async run(page, args, report) {
    const spec = parseDemoSpec(args.flags);
    const r = (await page.evaluate((s) => globalThis.tesseraBench.demo(s), spec)) as DemoBenchResult;
    report.demo = r;
    const chart = resolve(dirname(args.out), 'demo-vs-adamw.png');
    const title = `${r.demo.spec.preset}: DeMo (${r.demo.spec.replicas} replicas, 1-bit, top-${r.demo.spec.topk}) vs AdamW at equal tokens, ${r.demo.spec.schedule} lr`;
    const series = [
      { name: `DeMo lr ${r.demo.spec.lr}`, losses: r.demo.losses },
      { name: `AdamW lr ${r.adamw.lr}`, losses: r.adamw.losses },
      { name: `DeMo one round stale lr ${r.delayed.spec.lr}`, losses: r.delayed.losses },
    ];
    const selector = await page.evaluate(([t, s]) => globalThis.tesseraBench.lossChart(t as string, s as { name: string; losses: number[] }[]), [title, series] as const);
    await page.locator(selector).screenshot({ path: chart });
    report.demoChart = chart;
  },
  print(report) {
    const r = report.demo as DemoBenchResult | undefined;
    if (!r) return;
    const d = r.demo;
    const s = d.spec;
    if (report.demoChart) console.log(`\nloss curves: ${String(report.demoChart)}`);
    const tokens = s.replicas * s.batchPerReplica * s.seqLen;
    console.log(
      `\nDeMo: ${s.preset} (${d.parameters} parameters), ${s.replicas} replicas × ${s.batchPerReplica}×${s.seqLen} tokens, ` +
        `chunk ${s.chunk}, top-k ${s.topk}, ${s.steps} steps; AdamW on one replica with batch ${s.replicas * s.batchPerReplica} (${tokens} tokens/step both)`,
    );
    console.log(
      formatTable(
        ['bytes/update (proofs)', 'dense fp32 grad', 'DeMo ratio (with proofs)', 'fwd+bwd ms', 'encode ms', 'decode ms', 'enc+dec share', 'verify ms/check (recompute)', 'verify share: probation (3 checks)', 'past probation', 'max proof error', 'checksums agree'],
        [[
          `${d.bytesPerUpdate} (${d.proofBytesPerUpdate})`,
          String(d.denseGradientBytes),
          `${fmt(d.compressionRatio)}× (${fmt(d.payloadRatio)}×)`,
          fmt(d.forwardBackwardMs),
          fmt(d.encodeMs),
          fmt(d.decodeMs),
          `${(d.encodeDecodeShare * 100).toFixed(1)}%`,
          `${fmt(d.verifyMsPerCheck, 3)} (${fmt(d.recomputeMsPerCheck, 3)})`,
          `${(d.verifyShare * 100).toFixed(2)}%`,
          `${(d.verifySteadyShare * 100).toFixed(2)}%`,
          `${d.maxProofErrorPermille}‰`,
          d.allChecksumsAgree ? 'every step' : 'NO',
        ]],
      ),
    );
    const last = (xs: number[]) => xs[xs.length - 1];
    const f = r.final;
    console.log(
      `\nloss at equal tokens: ${f.steps} steps × ${f.tokensPerStep} tokens = ${f.tokens} tokens; final = mean of the last ${f.window} steps; ` +
        `one round stale = delay 1 (each step's gradients before the previous step's set is applied, as pipelined rounds)`,
    );
    console.log(
      formatTable(
        ['optimizer', 'lr', 'loss first→last', 'final', '/ AdamW', '/ DeMo', 'checksums agree'],
        [
          ['AdamW', String(r.adamw.lr), `${fmt(r.adamw.losses[0], 4)}→${fmt(last(r.adamw.losses), 4)}`, fmt(f.adamw, 4), '1', '', ''],
          ['DeMo (mean of replicas)', String(s.lr), `${fmt(d.losses[0], 4)}→${fmt(last(d.losses), 4)}`, fmt(f.demo, 4), fmt(f.demoOverAdamw, 4), '1', d.allChecksumsAgree ? 'every step' : 'NO'],
          [
            'DeMo, one round stale',
            String(r.delayed.spec.lr),
            `${fmt(r.delayed.losses[0], 4)}→${fmt(last(r.delayed.losses), 4)}`,
            fmt(f.delayed, 4),
            fmt(f.delayedOverAdamw, 4),
            fmt(f.delayedOverDemo, 4),
            r.delayed.allChecksumsAgree ? 'every step' : 'NO',
          ],
        ],
      ),
    );
  },
};

/**
 * `tinyDemo:64x4` → preset tinyDemo, 4 sequences of 64 tokens timed per step;
 * an optional third number is the micro-batch (default all of them at once),
 * an optional `:N` the untimed full warm-up steps (default --share-warmup).
 * SwiftShader trains bpe-100m at seconds a token and compresses or applies
 * its 108 M parameters in minutes each, so the defaults time a few hundred
 * tokens of the small presets and 16 of bpe-100m, whose one step is timed
 * without a full warm-up step (forward + backward is still warmed up; compress
 * and apply compile in about a second of their minutes). Short sequences cost
 * less per token than a real run's longer ones (attention), which can only
 * overstate DeMo's share.
 */
const DEFAULT_SHARE = 'tinyDemo:64x4,small:256x1,bpe-100m:16x1:0';

function parseShareSpecs(flags: BenchArgs['flags']): DemoShareSpec[] {
  const int = (name: string, fallback: number) => {
    const v = Number(flags.get(name) ?? fallback);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: "${String(flags.get(name))}" is not a non-negative integer`);
    return v;
  };
  const roundTokens = int('share-tokens', 4096);
  const updates = int('share-updates', 8);
  const steps = int('share-steps', 1);
  const warmup = int('share-warmup', 1);
  return String(flags.get('share') ?? DEFAULT_SHARE)
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const m = /^([A-Za-z][\w-]*):(\d+)x(\d+)(?:x(\d+))?(?::(\d+))?$/.exec(item);
      if (!m) throw new Error(`--share: "${item}" is not preset:SEQLENxSEQUENCES[xMICROBATCH][:WARMUP]`);
      const sequences = Number(m[3]);
      const microBatch = Number(m[4] ?? sequences);
      return { preset: m[1], seqLen: Number(m[2]), sequences, microBatch, roundTokens, updates, steps, warmupSteps: Number(m[5] ?? warmup) };
    });
}

const shareSection: Section = {
  name: 'share',
  async run(page, args, report) {
    const results: DemoShareResult[] = [];
    for (const spec of parseShareSpecs(args.flags)) {
      const t0 = Date.now();
      results.push((await page.evaluate((s) => globalThis.tesseraBench.demoShare(s), spec)) as DemoShareResult);
      console.log(`[bench] share ${spec.preset}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    report.demoShare = results;
  },
  print(report) {
    const results = (report.demoShare ?? []) as DemoShareResult[];
    console.log(`\n${demoShareHeadline(results)}`);
    console.log(demoShareTable(results));
  },
};

/**
 * The same matmul and DeMo round on Chromium, Firefox and Node (bench/engines.ts):
 * --engines-size 256 (M=N=K), --engines-round tinyDemo:64x8 (preset:SEQLENxSEQUENCES, one micro-batch).
 */
const enginesSection: Section = {
  name: 'engines',
  async run(page, args, report) {
    const n = Number(args.flags.get('engines-size') ?? 256);
    const m = /^([\w-]+):(\d+)x(\d+)$/.exec(String(args.flags.get('engines-round') ?? 'tinyDemo:64x8'));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--engines-size: "${String(args.flags.get('engines-size'))}" is not a positive integer`);
    if (!m) throw new Error('--engines-round: not preset:SEQLENxSEQUENCES');
    const [seqLen, sequences] = [Number(m[2]), Number(m[3])];
    const round = { preset: m[1], seqLen, sequences, microBatch: sequences, roundTokens: 4096, updates: 8, steps: 2, warmupSteps: 1 };
    report.engines = await benchEngines(page, { matmul: { M: n, N: n, K: n }, reps: args.reps, round }, (line) => console.log(line));
  },
  print(report) {
    const results = (report.engines ?? []) as EngineResult[];
    console.log('\nengines (ours matmul nt, wall clock; a DeMo round of 4096 tokens with 8 agreed updates, forward + backward timed and scaled)');
    console.log(
      formatTable(
        ['engine', 'adapter', 'matmul GFLOP/s', 'fwd+bwd tokens/s', 'round tokens/s', 'DeMo share', 'error'],
        results.map((r) => [r.engine, r.adapter, fmt(r.matmulGflops), fmt(r.trainTokensPerSec), fmt(r.roundTokensPerSec), r.demoShare === null ? '' : `${(100 * r.demoShare).toFixed(2)} %`, r.error ?? '']),
      ),
    );
  },
};

/**
 * Generation tokens/s with onnxruntime-web, WebGPU against wasm (bench/generation.ts):
 * --generation tinyDemo:32x32,bpe-100m:16x4 (preset:PROMPTxDECODE, the defaults).
 */
const generationSection: Section = {
  name: 'generation',
  async run(page, args, report) {
    const results: GenerationResult[] = [];
    for (const item of String(args.flags.get('generation') ?? 'tinyDemo:32x32,bpe-100m:16x4').split(',').filter(Boolean)) {
      const m = /^([\w-]+):(\d+)x(\d+)$/.exec(item);
      if (!m) throw new Error(`--generation: "${item}" is not preset:PROMPTxDECODE`);
      const spec = { preset: m[1], promptTokens: Number(m[2]), decodeTokens: Number(m[3]), backends: ['webgpu', 'wasm'] as ('webgpu' | 'wasm')[] };
      results.push((await page.evaluate((s) => globalThis.tesseraBench.generation(s), spec)) as GenerationResult);
    }
    report.generation = results;
  },
  print(report) {
    const results = (report.generation ?? []) as GenerationResult[];
    console.log('\ngeneration (onnxruntime-web, fresh weights; prefill timed after one warm-up, greedy decode on the cache)');
    console.log(
      formatTable(
        ['preset', 'parameters', 'prompt', 'decoded', 'backend', 'load ms', 'prefill tokens/s', 'decode tokens/s', 'error'],
        results.flatMap((r) =>
          r.backends.map((b) => [r.preset, String(r.parameters), String(r.promptTokens), String(r.decodeTokens), b.backend, fmt(b.loadMs), fmt(b.prefillTokensPerSec), fmt(b.decodeTokensPerSec), b.error ?? '']),
        ),
      ),
    );
  },
};

const SECTIONS: Section[] = [matmulSection, trainingSection, demoSection, shareSection, enginesSection, generationSection];

function sameAdapter(r: MatmulBench): boolean {
  const all = Object.values(r.adapters).map((a) => JSON.stringify(a));
  return all.every((a) => a === all[0]);
}

async function openBenchPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning' || m.text().startsWith('[bench]')) console.log(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  // Chromium's console only says "Failed to load resource"; name the URL.
  page.on('response', (r) => {
    if (r.status() >= 400) console.log(`[page] HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(`${url}bench.html`);
  await page.waitForFunction(() => 'tesseraBench' in globalThis, undefined, { timeout: 60_000 });
  return page;
}

async function envInfo(browser: Browser, page: Page, args: BenchArgs): Promise<BenchReport['env']> {
  return {
    date: new Date().toISOString(),
    browser: browser.version(),
    userAgent: await page.evaluate(() => navigator.userAgent),
    hostCpus: cpus().length,
    node: process.version,
    reps: args.reps,
    warmup: args.warmup,
    trials: args.trials,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { sizes: '64,128,256,512x256x128', reps: 5, out: 'bench-results/bench.json' });
  const wanted = String(args.flags.get('sections') ?? SECTIONS.map((s) => s.name).join(',')).split(',');
  if (!args.flags.has('no-build')) {
    console.log(`building into ${SITE_DIR} …`);
    await buildPage(SITE_DIR);
  }
  const { server, url } = await servePage(SITE_DIR);
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const page = await openBenchPage(browser, url);
    const report: BenchReport = { adapter: {}, sameAdapter: true, env: await envInfo(browser, page, args) };
    for (const section of SECTIONS.filter((s) => wanted.includes(s.name))) {
      const t0 = Date.now();
      await section.run(page, args, report);
      console.log(`[bench] section ${section.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nadapters: ${JSON.stringify(report.adapter)}${report.sameAdapter ? '' : '  (NOT the same adapter!)'}`);
    for (const section of SECTIONS.filter((s) => wanted.includes(s.name))) section.print(report);
    console.log(`\nwrote ${args.out}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();

/**
 * Our matmul through Dawn in Node (npm `webgpu`), for GPU servers without a
 * browser: the same WGSL the browser runs, at sizes a real GPU needs.
 *
 *   npm run bench -- --node [--sizes 1024,2048,4096] [--layouts nt,nn,tn] [--reps 10]
 *     [--trials 3] [--warmup 2] [--tiles sweep|default|"16,16,4,4,16;16,16,8,8,8"]
 *     [--out bench-results/bench-node.json]
 *
 * Every tile configuration (wgX, wgY, rm, rn, tk) that fits the device's
 * limits runs on the same inputs, interleaved, and is checked against float64
 * (sampled entries at big sizes), so a fast but wrong configuration is never
 * reported as the best. Prints one table per section and, last, one JSON line;
 * also writes the JSON to --out.
 *
 * Without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
 * and small sizes, e.g. --sizes 64,96x80x72 --tiles default.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from '../bench/args';
import { float64Reference, matmulData, type MatmulData } from '../bench/data';
import { oursCandidate } from '../bench/ours';
import { fmt, formatTable } from '../bench/table';
import { median, timeInterleaved, type TimingOptions } from '../bench/timing';
import { gflopsOf, sizeLabel, type Agreement, type Layout, type Size } from '../bench/types';
import { Gpu } from '../src/gpu/gpu';
import { DEFAULT_TILES, type MatmulTiles } from '../src/kernels/matmul/matmul';

/**
 * Candidates around the default 64×64 tile: deeper/shallower K steps, 128-wide
 * tiles with more accumulators per thread, fewer or differently shaped threads.
 */
const TILE_SWEEP: MatmulTiles[] = [
  DEFAULT_TILES,
  { wgX: 16, wgY: 16, rm: 4, rn: 4, tk: 8 },
  { wgX: 16, wgY: 16, rm: 4, rn: 4, tk: 32 },
  { wgX: 16, wgY: 16, rm: 8, rn: 8, tk: 8 },
  { wgX: 16, wgY: 16, rm: 8, rn: 8, tk: 16 },
  { wgX: 16, wgY: 16, rm: 8, rn: 4, tk: 16 },
  { wgX: 16, wgY: 16, rm: 4, rn: 8, tk: 16 },
  { wgX: 16, wgY: 8, rm: 8, rn: 8, tk: 16 },
  { wgX: 8, wgY: 8, rm: 8, rn: 8, tk: 16 },
  { wgX: 32, wgY: 8, rm: 4, rn: 4, tk: 16 },
  { wgX: 8, wgY: 32, rm: 4, rn: 4, tk: 16 },
];

interface TileResult {
  M: number;
  N: number;
  K: number;
  layout: Layout;
  tiles: MatmulTiles;
  wallMs: number | null;
  wallMsTrials: number[];
  gflops: number | null;
  gpuMs: number | null;
  gpuGflops: number | null;
  check: Agreement | null;
  error?: string;
}

/** Lives as long as the process: see nodeGpu(). */
let dawnInstance: GPU | null = null;

/**
 * createNodeGpu() (src/gpu/node-gpu.ts) as it stands, except that it keeps
 * the GPU object create() returns. createNodeGpu drops it; once V8 collects
 * it, Dawn tears its instance down under the live device and the process
 * dies in the first submit (segfault, "futex facility returned an unexpected
 * error code", std::system_error). Use createNodeGpu again once it holds it.
 */
async function nodeGpu(): Promise<Gpu> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawnInstance = create([]);
  return Gpu.create(dawnInstance);
}

const tileKey = (t: MatmulTiles) => `${t.wgX},${t.wgY},${t.rm},${t.rn},${t.tk}`;

function parseTiles(spec: string): MatmulTiles[] {
  if (spec === 'sweep') return TILE_SWEEP;
  if (spec === 'default') return [DEFAULT_TILES];
  return spec.split(';').map((one) => {
    const v = one.split(',').map(Number);
    if (v.length !== 5 || v.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--tiles: "${one}" is not wgX,wgY,rm,rn,tk`);
    return { wgX: v[0], wgY: v[1], rm: v[2], rn: v[3], tk: v[4] };
  });
}

/** Why a tile configuration cannot run on this device, or null when it can. */
function tileProblem(gpu: Gpu, t: MatmulTiles): string | null {
  const l = gpu.limits;
  if (t.wgX * t.wgY > l.maxComputeInvocationsPerWorkgroup) return `${t.wgX * t.wgY} invocations > ${l.maxComputeInvocationsPerWorkgroup}`;
  if (t.wgX > l.maxComputeWorkgroupSizeX || t.wgY > l.maxComputeWorkgroupSizeY) return 'workgroup size over the limit';
  // The shader stages a TK×TILE_M slice of A and a TK×TILE_N slice of B in f32.
  const bytes = t.tk * (t.wgY * t.rm + t.wgX * t.rn) * 4;
  if (bytes > l.maxComputeWorkgroupStorageSize) return `${bytes} B workgroup memory > ${l.maxComputeWorkgroupStorageSize}`;
  return null;
}

async function benchLayout(gpu: Gpu, d: MatmulData, layout: Layout, tiles: MatmulTiles[], opts: TimingOptions): Promise<TileResult[]> {
  const size: Size = { M: d.M, N: d.N, K: d.K };
  const reference = float64Reference(d);
  const candidates = tiles.map((t) => oursCandidate(gpu, d, layout, { reps: opts.reps, tiles: t, reference }));
  try {
    const timings = await timeInterleaved(candidates, opts);
    const out: TileResult[] = [];
    for (const [i, c] of candidates.entries()) {
      const base = { ...size, layout, tiles: tiles[i], wallMsTrials: timings.trials[i] };
      const error = timings.errors[i];
      if (error !== null) {
        out.push({ ...base, wallMs: null, gflops: null, gpuMs: null, gpuGflops: null, check: null, error });
        continue;
      }
      const fin = await c.finish();
      const wallMs = median(timings.trials[i]);
      out.push({ ...base, wallMs, gflops: gflopsOf(size, wallMs), gpuMs: fin.gpuMs, gpuGflops: gflopsOf(size, fin.gpuMs), check: fin.check });
    }
    return out;
  } finally {
    for (const c of candidates) await c.dispose();
  }
}

const trusted = (r: TileResult) => (!r.error && r.check?.ok !== false ? r.gflops : null);

function detailTable(results: TileResult[]): string {
  const rows = results.map((r) => [
    sizeLabel(r),
    r.layout,
    tileKey(r.tiles),
    r.error ? 'error' : fmt(r.gflops) + (r.check && !r.check.ok ? '!' : ''),
    fmt(r.gpuGflops),
    r.error ?? (r.check ? `${r.check.ok ? 'ok' : 'FAIL'} ${r.check.maxAbsDiff.toExponential(1)}` : '—'),
  ]);
  return formatTable(['size', 'layout', 'tiles wgX,wgY,rm,rn,tk', 'GFLOP/s', 'GPU(ts) GFLOP/s', 'check'], rows);
}

/** Per size and layout: the default tiles against the best configuration that passed its check. */
function summaryTable(results: TileResult[]): string {
  const groups = new Map<string, TileResult[]>();
  for (const r of results) {
    const key = `${sizeLabel(r)} ${r.layout}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups.values()].map((g) => {
    const def = g.find((r) => tileKey(r.tiles) === tileKey(DEFAULT_TILES));
    const best = g.filter((r) => trusted(r) !== null).sort((a, b) => (b.gflops ?? 0) - (a.gflops ?? 0))[0];
    const gain = best?.gflops && def?.gflops ? `${(best.gflops / def.gflops).toFixed(2)}×` : '—';
    return [sizeLabel(g[0]), g[0].layout, fmt(def?.gflops), fmt(def?.gpuGflops), best ? tileKey(best.tiles) : '—', fmt(best?.gflops), fmt(best?.gpuGflops), gain];
  });
  return formatTable(['size', 'layout', 'default', 'default GPU(ts)', 'best tiles', 'best', 'best GPU(ts)', 'best/default'], rows);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { sizes: '1024,2048,4096', reps: 10, out: 'bench-results/bench-node.json' });
  const layouts = String(args.flags.get('layouts') ?? 'nt,nn,tn').split(',') as Layout[];
  const wanted = parseTiles(String(args.flags.get('tiles') ?? 'sweep'));
  const opts: TimingOptions = { reps: args.reps, warmup: Math.max(args.warmup, 1), trials: args.trials };
  const gpu = await nodeGpu();
  const adapter = { ...gpu.info };
  console.log(`adapter: ${JSON.stringify(adapter)} timestamps: ${gpu.features.timestamp}`);
  const skipped = wanted.flatMap((t) => (tileProblem(gpu, t) ? [{ tiles: tileKey(t), why: tileProblem(gpu, t) }] : []));
  const tiles = wanted.filter((t) => !tileProblem(gpu, t));
  for (const s of skipped) console.log(`skipping tiles ${s.tiles}: ${s.why}`);
  const results: TileResult[] = [];
  for (const size of args.sizes) {
    const d = matmulData(size);
    for (const layout of layouts) {
      const t0 = Date.now();
      results.push(...(await benchLayout(gpu, d, layout, tiles, opts)));
      console.log(`[bench-node] ${sizeLabel(size)} ${layout}: ${tiles.length} tile configs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const report = {
    adapter,
    env: { date: new Date().toISOString(), node: process.version, hostCpus: cpus().length, ...opts, timestamps: gpu.features.timestamp },
    matmulNode: results,
    skippedTiles: skipped,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nmatmul through Dawn, every tile configuration (wall clock per rep, median of ${opts.trials} trials; "!" = failed its check)`);
  console.log(detailTable(results));
  console.log('\nbest tiles per size and layout (GFLOP/s)');
  console.log(summaryTable(results));
  console.log(`\nwrote ${args.out}`);
  console.log(JSON.stringify(report));
  gpu.device.destroy();
}

// Dawn keeps the process alive after the device is gone; exit explicitly, as scripts/check-kernels.ts does.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

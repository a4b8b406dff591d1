/**
 * Our matmul through Dawn in Node, every tile configuration (wgX, wgY, rm,
 * rn, tk) that fits the device's limits on the same inputs, interleaved, each
 * checked against float64 (sampled entries at big sizes), so a fast but wrong
 * configuration is never reported as the best. scripts/bench-node.ts's
 * matmul section.
 */
import { float64Reference, matmulData, type MatmulData } from './data';
import { oursCandidate } from './ours';
import { fmt, formatTable } from './table';
import { median, timeInterleaved, type TimingOptions } from './timing';
import { gflopsOf, sizeLabel, type Agreement, type Layout, type Size } from './types';
import type { Gpu } from '../src/gpu/gpu';
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

export interface TileResult {
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

export const tileKey = (t: MatmulTiles) => `${t.wgX},${t.wgY},${t.rm},${t.rn},${t.tk}`;

export function parseTiles(spec: string): MatmulTiles[] {
  if (spec === 'sweep') return TILE_SWEEP;
  if (spec === 'default') return [DEFAULT_TILES];
  return spec.split(';').map((one) => {
    const v = one.split(',').map(Number);
    if (v.length !== 5 || v.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--tiles: "${one}" is not wgX,wgY,rm,rn,tk`);
    return { wgX: v[0], wgY: v[1], rm: v[2], rn: v[3], tk: v[4] };
  });
}

/** Why a tile configuration cannot run on this device, or null when it can. */
export function tileProblem(gpu: Gpu, t: MatmulTiles): string | null {
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

export function detailTable(results: TileResult[]): string {
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
export function summaryTable(results: TileResult[]): string {
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


export interface MatmulSweep {
  results: TileResult[];
  skippedTiles: { tiles: string; why: string }[];
  /** Size×layout pairs left out because the time budget ran out. */
  notRun: string[];
}

/**
 * Every size × layout × tile configuration, until `deadline` (a Date.now()
 * value): a slow GPU then reports what it measured instead of running past
 * the machine's time limit with nothing printed.
 */
export async function matmulSweep(
  gpu: Gpu,
  o: { sizes: Size[]; layouts: Layout[]; tiles: MatmulTiles[]; timing: TimingOptions; deadline: number; log: (line: string) => void },
): Promise<MatmulSweep> {
  const skippedTiles = o.tiles.flatMap((t) => {
    const why = tileProblem(gpu, t);
    return why ? [{ tiles: tileKey(t), why }] : [];
  });
  const tiles = o.tiles.filter((t) => !tileProblem(gpu, t));
  for (const s of skippedTiles) o.log(`skipping tiles ${s.tiles}: ${s.why}`);
  const results: TileResult[] = [];
  const notRun: string[] = [];
  for (const size of o.sizes) {
    let d: MatmulData | null = null;
    for (const layout of o.layouts) {
      if (Date.now() > o.deadline) {
        notRun.push(`${sizeLabel(size)} ${layout}`);
        continue;
      }
      const t0 = Date.now();
      d ??= matmulData(size);
      results.push(...(await benchLayout(gpu, d, layout, tiles, o.timing)));
      o.log(`[bench-node] ${sizeLabel(size)} ${layout}: ${tiles.length} tile configs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  if (notRun.length > 0) o.log(`[bench-node] time budget spent; not run: ${notRun.join(', ')}`);
  return { results, skippedTiles, notRun };
}

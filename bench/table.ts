/** Plain-text tables for the runners' console output. */
import { sizeLabel, type Layout, type MatmulEntry, type MatmulSizeResult } from './types';

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v >= 100 ? v.toFixed(0) : v.toPrecision(digits);
}

function find(r: MatmulSizeResult, impl: MatmulEntry['impl'], layout?: Layout): MatmulEntry | undefined {
  return r.entries.find((e) => e.impl === impl && (layout === undefined || e.layout === layout));
}

/** A number that failed its agreement check is shown, but flagged and never counted as "best". */
function cell(e: MatmulEntry | undefined, pick: (e: MatmulEntry) => number | null = (x) => x.gflops): string {
  if (!e) return '—';
  if (e.error) return 'error';
  return fmt(pick(e)) + (e.check && !e.check.ok ? '!' : '');
}

function trusted(e: MatmulEntry | undefined): number | null {
  return e && !e.error && (!e.check || e.check.ok) ? e.gflops : null;
}

function checks(r: MatmulSizeResult, layout: Layout): string {
  const mine = r.entries.filter((e) => e.layout === layout || (e.impl === 'ort' && e.layout === 'nn'));
  const bad = mine.filter((e) => e.error || (e.check && !e.check.ok));
  if (bad.length === 0) return 'ok';
  return bad.map((e) => `${e.impl}:${e.error ? 'error' : e.check!.maxAbsDiff.toExponential(1)}`).join(' ');
}

/** One row per size and layout; ORT's MatMul is 'nn', shown in both rows. */
export function matmulTable(results: MatmulSizeResult[]): string {
  const header = ['size', 'layout', 'ours', 'ours GPU(ts)', 'ORT (nn)', 'tfjs', 'tfjs GPU(ts)', 'ours/best other', 'checks'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const layout of ['nt', 'nn'] as const) {
      const ours = find(r, 'ours', layout);
      const others = [trusted(find(r, 'ort')), trusted(find(r, 'tfjs', layout))].filter((v): v is number => v !== null);
      const best = others.length ? Math.max(...others) : null;
      const ratio = ours?.gflops && best ? `${(ours.gflops / best).toFixed(2)}×` : '—';
      rows.push([
        sizeLabel(r),
        layout,
        cell(ours),
        cell(ours, (e) => e.gpuGflops),
        cell(find(r, 'ort')),
        cell(find(r, 'tfjs', layout)),
        cell(find(r, 'tfjs', layout), (e) => e.gpuGflops),
        ratio,
        checks(r, layout),
      ]);
    }
  }
  return formatTable(header, rows);
}

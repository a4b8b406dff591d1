/** The benchmark's printed table and its charts (plain SVG, written from the numbers). */
import type { BenchResult, PayloadName, StoreName } from './bench';
import { largestWithin } from './stats';

export function fmtBytes(b: number | null | undefined): string {
  if (b === null || b === undefined || !Number.isFinite(b)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = b;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)} ${units[u]}`;
}

const s = (ms: number | null | undefined) => (ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(100 * x)} %`);
const n2 = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const n1 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

export const TABLE_HEADER = [
  'N',
  'store',
  'status',
  'round p50 s',
  'round p99 s',
  'commit / witness p50 s',
  'coord CPU mean / peak',
  'coord CPU-s per round',
  'coord RSS mean / peak MiB',
  'sim CPU mean / peak',
  'text msgs in / out per client·round',
  'text bytes in per client·round',
  'binary in / out per client·round',
  'floor (N−1)·P',
  'egress per round',
  'payload bytes through coord per round in / out',
  'bucket per round: PUT / GET / coord read',
  'sockets / links (degree) / full mesh per client',
  'mesh hops',
  'other processes, cores',
];

export function tableRow(r: BenchResult): string[] {
  const t = r.perClientPerRound;
  const measured = r.measuredRounds > 0;
  const p = r.payloadsPerRound;
  const bucket = r.store === 'bucket';
  return [
    String(r.clients),
    storeOf(r),
    (r.status === 'ok' ? `ok (${r.measuredRounds} rounds)` : r.status === 'stopped' ? `stopped after ${r.measuredRounds}` : r.status) +
      (measured && r.members !== r.clients ? `, ${Math.round(r.members)} members` : ''),
    measured ? s(r.roundMs?.p50) : '–',
    measured ? s(r.roundMs?.p99) : '–',
    measured ? `${s(r.trainMs?.p50)} / ${s(r.witnessMs?.p50)}` : '–',
    r.coordinator ? `${pct(r.coordinator.cpuMean)} / ${pct(r.coordinator.cpuPeak)}` : '–',
    n2(cpuSecondsPerRound(r)),
    r.coordinator ? `${n1(r.coordinator.rssMeanMiB)} / ${n1(r.coordinator.rssPeakMiB)}` : '–',
    r.simulator ? `${pct(r.simulator.cpuMean)} / ${pct(r.simulator.cpuPeak)}` : '–',
    t ? `${n1(t.textIn)} / ${n1(t.textOut)}` : '–',
    t ? fmtBytes(t.textInBytes) : '–',
    t ? `${n1(t.binIn)} (${fmtBytes(t.binInBytes)}) / ${n1(t.binOut)} (${fmtBytes(t.binOutBytes)})` : '–',
    fmtBytes(r.allGatherFloorBytes),
    fmtBytes(r.egressPerRoundBytes),
    p ? `${fmtBytes(p.relayBytesIn)} / ${fmtBytes(p.relayBytesOut)}` : '–',
    bucket && t ? `${fmtBytes(t.storePutBytes * r.members)} / ${fmtBytes(t.storeGetBytes * r.members)} / ${fmtBytes(p?.bucketBytesRead)}` : '–',
    `1 / ${r.connections.mesh ? `${r.connections.mesh.maxLinks} (${r.connections.mesh.degree})` : '–'} / ${measured ? Math.round(r.members) - 1 : r.connections.fullMesh}`,
    r.connections.mesh ? String(r.connections.mesh.hops) : '–',
    r.machine ? Math.max(0, r.machine.otherProcessesCores).toFixed(2) : '–',
  ];
}

/** Where a result's payloads went; reports from before the bucket had only the relay. */
export function storeOf(r: BenchResult): StoreName {
  return r.store ?? 'relay';
}

/**
 * The coordinator's CPU time per measured round (its mean CPU share times the
 * window, over the rounds): the work a round costs it, whatever else shared the cores.
 */
export function cpuSecondsPerRound(r: BenchResult): number | null {
  if (!r.coordinator || r.measuredRounds === 0) return null;
  return (r.coordinator.cpuMean * r.seconds.measure) / r.measuredRounds;
}

export function markdownTable(rows: BenchResult[]): string {
  const lines = [`| ${TABLE_HEADER.join(' | ')} |`, `|${TABLE_HEADER.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${tableRow(r).join(' | ')} |`);
  return lines.join('\n');
}

export function textTable(rows: BenchResult[]): string {
  const cells = [TABLE_HEADER, ...rows.map(tableRow)];
  const widths = TABLE_HEADER.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c) => c.map((v, i) => v.padEnd(widths[i])).join('  ')).join('\n');
}

/** The largest N whose round p50 stays within 2× that of the smallest N measured. */
export function scaleLimit(rows: BenchResult[]): number | null {
  return largestWithin(
    rows.map((r) => ({ n: r.clients, value: r.measuredRounds > 0 && r.roundMs ? r.roundMs.p50 : null })),
    2,
  );
}

export const EGRESS_HEADER = [
  'store',
  'N',
  'round p50 / p99 (s)',
  'coordinator egress per round (all frames)',
  'payload bytes out of the coordinator per round',
  'payload bytes into the coordinator per round (relayPut / its bucket reads)',
  'clients → bucket per round (PUT)',
  'bucket → clients per round (GET)',
  'URLs signed per round (PUT / GET)',
  'coordinator CPU-s per round',
  's3rver CPU mean',
];

/** The relay against the bucket: where each round's payload bytes went, per configuration. */
export function egressTable(rows: BenchResult[]): string {
  const lines = [`| ${EGRESS_HEADER.join(' | ')} |`, `|${EGRESS_HEADER.map(() => '---').join('|')}|`];
  for (const r of rows.filter((x) => x.measuredRounds > 0)) {
    const p = r.payloadsPerRound;
    const t = r.perClientPerRound;
    const bucket = storeOf(r) === 'bucket';
    lines.push(
      `| ${[
        storeOf(r),
        String(r.clients),
        `${s(r.roundMs?.p50)} / ${s(r.roundMs?.p99)}`,
        fmtBytes(r.egressPerRoundBytes),
        fmtBytes(p?.relayBytesOut),
        `${fmtBytes(p?.relayBytesIn)} / ${fmtBytes(p?.bucketBytesRead)}`,
        bucket && t ? fmtBytes(t.storePutBytes * r.members) : '–',
        bucket && t ? fmtBytes(t.storeGetBytes * r.members) : '–',
        p ? `${n1(p.uploadUrls)} / ${n1(p.downloadUrls)}` : '–',
        n2(cpuSecondsPerRound(r)),
        r.bucket ? pct(r.bucket.cpuMean) : '–',
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function reasons(rows: BenchResult[]): string[] {
  return rows.filter((r) => r.reason).map((r) => `${r.payload} N=${r.clients}: ${r.status === 'not-run' ? 'not run' : r.status}: ${r.reason}`);
}

// ---- SVG -------------------------------------------------------------------------------

export interface Series {
  name: string;
  color: string;
  /** SVG stroke-dasharray; solid when absent. */
  dash?: string;
  points: { x: number; y: number }[];
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicksLog(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) for (const m of [1, 2, 5]) out.push(m * 10 ** e);
  return out.filter((v) => v >= min / 1.0001 && v <= max * 1.0001);
}

/** A log–log line chart (x: clients, y: the figure) with one line per series. */
export function lineChartSvg(opts: { title: string; yLabel: string; series: Series[]; xValues: number[]; yLog?: boolean; yFormat?: (v: number) => string }): string {
  const W = 820;
  const H = 420;
  const m = { l: 70, r: 250, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = opts.series.flatMap((sr) => sr.points);
  const xs = opts.xValues;
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const yLog = opts.yLog ?? true;
  const ysRaw = all.map((p) => p.y).filter((y) => Number.isFinite(y) && (!yLog || y > 0));
  let ymin = ysRaw.length ? Math.min(...ysRaw) : 1;
  let ymax = ysRaw.length ? Math.max(...ysRaw) : 10;
  if (yLog) {
    ymin = 10 ** Math.floor(Math.log10(ymin));
    ymax = 10 ** Math.ceil(Math.log10(ymax));
  } else {
    ymin = 0;
    ymax = ymax * 1.1 || 1;
  }
  const fx = (x: number) => m.l + (xmax === xmin ? pw / 2 : ((Math.log(x) - Math.log(xmin)) / (Math.log(xmax) - Math.log(xmin))) * pw);
  const fy = (y: number) => (yLog ? m.t + ph - ((Math.log(y) - Math.log(ymin)) / (Math.log(ymax) - Math.log(ymin))) * ph : m.t + ph - ((y - ymin) / (ymax - ymin)) * ph);
  if (!yLog) {
    const raw = ymax / 5;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw) ?? 10 * mag;
    ymax = step * Math.ceil(ymax / step);
  }
  const yTicks = yLog ? niceTicksLog(ymin, ymax) : Array.from({ length: Math.round(ymax / ((ymax - ymin) / 5)) + 1 }, (_, i) => ymin + ((ymax - ymin) * i) / 5);
  const fmt = opts.yFormat ?? ((v: number) => String(+v.toPrecision(3)));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  for (const y of yTicks) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${fy(y).toFixed(1)}" y2="${fy(y).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(fy(y) + 4).toFixed(1)}" text-anchor="end">${esc(fmt(y))}</text>`);
  }
  for (const x of xs) {
    parts.push(`<line x1="${fx(x).toFixed(1)}" x2="${fx(x).toFixed(1)}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${fx(x).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle">${x}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">members N (log scale)</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((sr, i) => {
    const pts = sr.points.filter((p) => Number.isFinite(p.y) && (!yLog || p.y > 0));
    const dash = sr.dash ? ` stroke-dasharray="${sr.dash}"` : '';
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${sr.color}" stroke-width="2"${dash} points="${pts.map((p) => `${fx(p.x).toFixed(1)},${fy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${fx(p.x).toFixed(1)}" cy="${fy(p.y).toFixed(1)}" r="4" fill="${sr.color}"><title>${esc(`${sr.name}, N=${p.x}: ${fmt(p.y)}`)}</title></circle>`);
    const ly = m.t + 10 + i * 20;
    parts.push(`<line x1="${m.l + pw + 12}" x2="${m.l + pw + 32}" y1="${ly}" y2="${ly}" stroke="${sr.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${m.l + pw + 38}" y="${ly + 4}">${esc(sr.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** One report's rows and how its lines are named in the charts ("before", "after", …). */
export interface ChartSet {
  label: string;
  rows: BenchResult[];
}

const HUES: Record<PayloadName, Record<StoreName, string>> = {
  tinyDemo: { relay: '#1f77b4', bucket: '#2ca02c' },
  'bpe-100m': { relay: '#d62728', bucket: '#9467bd' },
};

/** A line per report, payload and store: the colour says payload and store, a dashed line an earlier report. */
function seriesOf(sets: ChartSet[], y: (r: BenchResult) => number): Series[] {
  const out: Series[] = [];
  sets.forEach((set, i) => {
    const keys = [...new Set(set.rows.map((r) => `${r.payload}|${storeOf(r)}`))];
    for (const key of keys) {
      const [payload, store] = key.split('|') as [PayloadName, StoreName];
      const rows = set.rows.filter((r) => r.payload === payload && storeOf(r) === store && r.measuredRounds > 0).sort((a, b) => a.clients - b.clients);
      if (rows.length === 0) continue;
      out.push({
        name: `${payload} ${store}, ${set.label}`,
        color: HUES[payload]?.[store] ?? '#555',
        dash: i < sets.length - 1 ? DASHES[i % DASHES.length] : undefined,
        points: rows.map((r) => ({ x: at(r), y: y(r) })),
      });
    }
  });
  return out;
}

const DASHES = ['6 4', '2 3', '10 3 2 3'];

/** A run that dropped members is plotted at the members its measured rounds had. */
const at = (r: BenchResult) => (r.measuredRounds > 0 ? Math.round(r.members) : r.clients);

/** Round time p50 vs N, and coordinator CPU vs N: one line per report, payload and store (measured points only). */
export function charts(sets: ChartSet[]): { roundTime: string; cpu: string; cpuSeconds: string } {
  const xValues = [...new Set(sets.flatMap((set) => set.rows.filter((r) => r.measuredRounds > 0).map(at)))].sort((a, b) => a - b);
  const roundTime = lineChartSvg({
    title: 'Round time p50 vs clients (real coordinator)',
    yLabel: 'round time p50 (s, log scale)',
    xValues,
    series: seriesOf(sets, (r) => (r.roundMs?.p50 ?? NaN) / 1000),
  });
  const cpu = lineChartSvg({
    title: 'Coordinator CPU vs clients (share of one core)',
    yLabel: 'coordinator CPU, mean over measured rounds',
    xValues,
    yLog: false,
    yFormat: (v) => `${Math.round(v * 100)} %`,
    series: seriesOf(sets, (r) => r.coordinator?.cpuMean ?? NaN),
  });
  const cpuSeconds = lineChartSvg({
    title: 'Coordinator CPU time per round vs clients',
    yLabel: 'coordinator CPU-seconds per round (log scale)',
    xValues,
    series: seriesOf(sets, (r) => cpuSecondsPerRound(r) ?? NaN),
  });
  return { roundTime, cpu, cpuSeconds };
}

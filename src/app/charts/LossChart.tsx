/**
 * The app's chart on uPlot: loss curves (Train solo, Contribute) and the
 * Network page's per-round series, as lines or bars over a numeric x (the
 * step). The plot is built once per set of series names and styles (and
 * colour scheme) and then only fed new data with setData, so streaming a
 * point per training step stays cheap.
 */
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Point {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  points: Point[];
  /** How the series is drawn; a line by default. */
  style?: 'line' | 'bars';
}

interface Props {
  series: ChartSeries[];
  height?: number;
  xLabel?: string;
  yLabel?: string;
  /** x values are whole numbers (training steps): no ticks at 1.5. */
  integerX?: boolean;
  /** Shown over the empty plot before the first point arrives. */
  emptyText?: string;
  'data-testid'?: string;
}

const PALETTE = ['--chart-1', '--chart-2', '--chart-3', '--chart-4'];
const INTEGER_INCRS = Array.from({ length: 10 }, (_, k) => [1, 2, 5].map((m) => m * 10 ** k)).flat();

export function LossChart({ series, height = 280, xLabel = 'step', yLabel = 'loss', integerX = true, emptyText = 'No data yet', ...rest }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The create effect reads the latest data without depending on it.
  const latest = useRef(series);
  latest.current = series;
  const scheme = useColorScheme();
  const names = series.map((s) => `${s.name}\u0001${s.style ?? 'line'}`).join('\u0000');

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: color('--muted', '#888'),
      grid: { stroke: color('--chart-grid', 'rgba(128,128,128,0.15)'), width: 1 },
      ticks: { stroke: color('--chart-grid', 'rgba(128,128,128,0.15)'), width: 1 },
    });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 100),
      height,
      scales: { x: { time: false } },
      axes: [integerX ? { ...axis(xLabel), incrs: INTEGER_INCRS } : axis(xLabel), axis(yLabel)],
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: xLabel },
        ...latest.current.map((s, i): uPlot.Series => {
          const stroke = color(PALETTE[i % PALETTE.length], '#4f46e5');
          const line = { label: s.name, stroke, width: 1.5, spanGaps: true, points: { show: false } };
          // Bars of several series share a step, each drawn over the ones before it, so they are see-through.
          const bars = uPlot.paths.bars?.({ size: [0.6, 40] });
          const fill = /^#[0-9a-f]{6}$/i.test(stroke) ? `${stroke}99` : stroke;
          return s.style === 'bars' && bars ? { ...line, fill, paths: bars } : line;
        }),
      ],
    };
    const u = new uPlot(opts, toAligned(latest.current), el);
    plot.current = u;
    // Hidden pages report width 0; keep the last real size until shown again.
    const observer = new ResizeObserver(([entry]) => {
      const width = Math.floor(entry.contentRect.width);
      if (width > 0 && width !== u.width) u.setSize({ width, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [names, height, xLabel, yLabel, integerX, scheme]);

  useEffect(() => {
    plot.current?.setData(toAligned(series));
  }, [series]);

  const empty = series.every((s) => s.points.length === 0);
  return (
    <div className="chart" data-testid={rest['data-testid']}>
      <div ref={container} />
      {empty && <div className="chart-empty">{emptyText}</div>}
    </div>
  );
}

/** uPlot wants one shared x array; series that share x values (the usual case) skip the merge. */
export function toAligned(series: ChartSeries[]): uPlot.AlignedData {
  const first = series[0]?.points ?? [];
  const shared = series.every((s) => s.points.length === first.length && s.points.every((p, i) => p.x === first[i].x));
  if (shared) return [first.map((p) => p.x), ...series.map((s) => s.points.map((p) => p.y))];
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  return [
    xs,
    ...series.map((s) => {
      const ys: (number | null)[] = new Array(xs.length).fill(null);
      for (const p of s.points) ys[index.get(p.x)!] = p.y;
      return ys;
    }),
  ];
}

/** Canvas colours come from CSS variables at creation, so the plot is rebuilt when the OS theme flips. */
function useColorScheme(): 'light' | 'dark' {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => window.matchMedia?.(query).matches ?? false);
  useEffect(() => {
    const mq = window.matchMedia?.(query);
    if (!mq) return;
    const onChange = () => setDark(mq.matches);
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);
  return dark ? 'dark' : 'light';
}

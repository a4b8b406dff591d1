/**
 * Draws loss curves with uPlot into the bench page, so the runner can save
 * them as a PNG next to the JSON (the DeMo-vs-AdamW chart of the bench).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#4f46e5', '#dc2626', '#059669', '#d97706'];

/** Renders into #chart (created if missing) and returns its CSS selector. */
export function drawLossChart(title: string, series: { name: string; losses: number[] }[]): string {
  let host = document.getElementById('chart');
  if (!host) {
    host = document.createElement('div');
    host.id = 'chart';
    host.style.cssText = 'background:#fff;padding:12px;width:760px';
    document.body.appendChild(host);
  }
  host.replaceChildren();
  const steps = Math.max(...series.map((s) => s.losses.length));
  const x = Array.from({ length: steps }, (_, i) => i + 1);
  const data: uPlot.AlignedData = [x, ...series.map((s) => x.map((_, i) => s.losses[i] ?? null))];
  new uPlot(
    {
      title,
      width: 760,
      height: 380,
      scales: { x: { time: false } },
      axes: [{ label: 'step' }, { label: 'loss' }],
      series: [{ label: 'step' }, ...series.map((s, i) => ({ label: s.name, stroke: COLORS[i % COLORS.length], width: 2 }))],
    },
    data,
    host,
  );
  return '#chart';
}

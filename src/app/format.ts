/** Number formatting shared by the pages; "—" stands for "no value yet". */

export const DASH = '—';

/** Errors span many decades, so they read best in exponent form. */
export function formatSci(x: number | undefined, digits = 2): string {
  if (x === undefined || Number.isNaN(x)) return DASH;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  return x.toExponential(digits);
}

/** Plain numbers with a fixed count of significant digits (loss, ms, norms). */
export function formatNum(x: number | undefined, digits = 4): string {
  if (x === undefined || Number.isNaN(x)) return DASH;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export function formatInt(x: number | undefined): string {
  return x === undefined ? DASH : Math.round(x).toLocaleString('en-US');
}

/** Parameter and token counts: 1.23M, 45.6K. */
export function formatCount(x: number | undefined): string {
  if (x === undefined) return DASH;
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) if (Math.abs(x) >= scale) return `${Number((x / scale).toPrecision(3))}${unit}`;
  return String(x);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** Byte counts in binary units (traffic, memory plans). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 2 ** 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Command-line flags shared by scripts/bench.ts and scripts/bench-node.ts:
 * --sizes 64,128,512x256x128 (N alone means N³), --reps 5, --warmup 1,
 * --trials 3 (batches per candidate, interleaved; the median is kept), --out FILE.
 */
import type { Size } from './types';

export interface BenchArgs {
  sizes: Size[];
  reps: number;
  warmup: number;
  trials: number;
  out: string;
  /** Everything else, for script-specific flags. */
  flags: Map<string, string | true>;
}

export function parseSize(spec: string): Size {
  const parts = spec.toLowerCase().split(/[x×]/).map(Number);
  const [M, N, K] = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  if (parts.length !== 1 && parts.length !== 3) throw new Error(`--sizes: "${spec}" is neither N nor MxNxK`);
  for (const v of [M, N, K]) if (!Number.isInteger(v) || v <= 0) throw new Error(`--sizes: bad size "${spec}"`);
  return { M, N, K };
}

/** `--key value` and `--key=value` pairs; a flag followed by another flag (or nothing) is boolean. */
function flagMap(argv: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      out.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (i + 1 < args.length && !args[i + 1].startsWith('--')) {
      out.set(arg.slice(2), args[++i]);
    } else {
      out.set(arg.slice(2), true);
    }
  }
  return out;
}

function positiveInt(flags: Map<string, string | true>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: expected a non-negative integer, got "${raw}"`);
  return v;
}

export function parseArgs(argv: string[], defaults: { sizes: string; reps: number; out: string }): BenchArgs {
  const flags = flagMap(argv);
  const sizes = String(flags.get('sizes') ?? defaults.sizes).split(',').filter(Boolean).map(parseSize);
  const reps = Math.max(1, positiveInt(flags, 'reps', defaults.reps));
  const warmup = positiveInt(flags, 'warmup', 1);
  const trials = Math.max(1, positiveInt(flags, 'trials', 3));
  const out = String(flags.get('out') ?? defaults.out);
  for (const k of ['sizes', 'reps', 'warmup', 'trials', 'out']) flags.delete(k);
  return { sizes, reps, warmup, trials, out, flags };
}

/** Console tables for the DeMo-share, training and memory-plan results (both runners print them). */
import type { DemoShareResult } from './demo-share';
import type { MemoryCheck } from './memory-check';
import { fmt, formatTable } from './table';

const mib = (bytes: number | null) => (bytes === null ? '—' : (bytes / 2 ** 20).toFixed(1));
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function demoShareHeadline(results: DemoShareResult[]): string {
  const r = results[0];
  if (!r) return 'DeMo share: no results';
  return (
    `DeMo encode + decode as a share of a round of ${r.spec.roundTokens} tokens per tab, ${r.spec.updates} agreed updates applied ` +
    '(medians of the timed steps after the warm-up ones, "steps" = warm-up+timed; fwd+bwd timed on the tokens shown and scaled linearly ' +
    'to the round at the same sequence length; encode and decode timed on the real model)'
  );
}

export function demoShareTable(results: DemoShareResult[]): string {
  return formatTable(
    ['preset', 'params', 'steps', 'timed seq×len', 'fwd+bwd ms', 'ms/token', 'round seqs', 'round fwd+bwd ms', 'encode ms', `decode ms`, 'share', 'bytes/update', 'dense grad bytes'],
    results.map((r) => [
      r.spec.preset,
      r.parameters.toLocaleString('en-US'),
      `${r.spec.warmupSteps ?? 1}+${r.spec.steps}`,
      `${r.spec.sequences}×${r.spec.seqLen}`,
      fmt(r.forwardBackwardMs),
      fmt(r.msPerToken),
      String(r.roundSequences),
      fmt(r.roundForwardBackwardMs),
      fmt(r.encodeMs),
      fmt(r.decodeMs),
      pct(r.share),
      String(r.bytesPerUpdate),
      String(r.denseGradientBytes),
    ]),
  );
}

export function trainingTokensTable(results: DemoShareResult[]): string {
  return formatTable(
    ['preset', 'params', 'batch×seq', 'micro-batch', 'fwd+bwd ms/step', 'tokens/s (fwd+bwd)', 'tokens/s (round, with DeMo)', 'loss (synthetic ids)'],
    results.map((r) => [
      r.spec.preset,
      r.parameters.toLocaleString('en-US'),
      `${r.spec.sequences}×${r.spec.seqLen}`,
      String(r.effectiveMicroBatch),
      fmt(r.forwardBackwardMs),
      fmt(r.trainTokensPerSec),
      fmt(r.roundTokensPerSec),
      fmt(r.loss, 4),
    ]),
  );
}

export function memoryTable(m: MemoryCheck): string {
  const rows = m.parts.map((p) => [p.part, mib(p.planned), mib(p.allocated), p.planned === null ? '—' : mib(p.allocated - p.planned)]);
  rows.push(['total (live storage)', mib(m.plan.bytes.total), mib(m.allocated.storage), mib(m.difference)]);
  rows.push(['peak storage', '', mib(m.allocated.peakStorage), mib(m.allocated.peakStorage - m.plan.bytes.total)]);
  return formatTable(['part', 'planned MiB', 'allocated MiB', 'allocated − planned'], rows);
}

/**
 * Micro-benchmark of the coordinator's copy check for one round of N uploads
 * of 100 M-sized updates (340 K (tensor, block, index) keys each, as bpe-100m's
 * in docs/scale.md): the time per upload with the round's index
 * (server/round-copy-index.ts) against comparing with every earlier upload
 * (the same CopyCheck with a threshold no index can promise, so it compares
 * with everyone, as before). One upload in ten is a 90 % copy of an earlier
 * one, and both must flag the same ones.
 *
 *   npx vite-node sim/copy-check-bench.ts -- --clients 10,50,100 --keys 340000
 */
import { parseArgs } from 'node:util';
import { CopyCheck } from '../server/copy-check';
import { runModel } from '../server/run-model';
import { Store } from '../server/store';
import { serverTestConfig } from '../server/test-helpers';
import { tempDir } from '../server/test-server';
import { mulberry32 } from '../src/kernels/testing/random';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { clients: { type: 'string', default: '10,50,100' }, keys: { type: 'string', default: '340000' } },
});
const counts = String(values.clients).split(',').map(Number);
const M = Number(values.keys);
const UNIVERSE = 108_000_000;
const config = serverTestConfig();
const rm = runModel(config);

function randomSet(rand: () => number): Float64Array {
  const s = new Set<number>();
  while (s.size < M) s.add(Math.floor(rand() * UNIVERSE));
  return Float64Array.from(s).sort();
}

function copyOf(source: Float64Array, share: number, rand: () => number): Float64Array {
  const s = new Set<number>();
  for (const k of source) if (rand() < share) s.add(k);
  while (s.size < M) s.add(Math.floor(rand() * UNIVERSE));
  return Float64Array.from(s).sort();
}

function round(n: number): [string, Float64Array][] {
  const rand = mulberry32(n);
  const out: [string, Float64Array][] = [];
  for (let i = 0; i < n; i++) {
    const keys = i > 0 && i % 10 === 0 ? copyOf(out[Math.floor(rand() * i)][1], 0.9, rand) : randomSet(rand);
    out.push([`u${i}`, keys]);
  }
  return out;
}

function run(uploads: [string, Float64Array][], thresholdPermille: number): { msPerUpload: number; flagged: string[] } {
  const { dir, cleanup } = tempDir();
  const store = Store.open(`${dir}/run.sqlite`);
  try {
    const check = new CopyCheck(store, rm, thresholdPermille);
    const flagged: string[] = [];
    const t = performance.now();
    for (const [hash, keys] of uploads) {
      const r = check.checkKeys(0, hash, keys);
      if (r !== null && r.permille >= 800) flagged.push(`${hash}←${r.with}`);
    }
    return { msPerUpload: (performance.now() - t) / uploads.length, flagged };
  } finally {
    store.close();
    cleanup();
  }
}

console.log(`copy check, one round, ${M} keys an update (ms per upload)`);
console.log('N | compare with every earlier upload | round index | copies flagged (same in both)');
for (const n of counts) {
  const uploads = round(n);
  const exact = run(uploads, 1); // 1 ‰: no banding can promise it, so every earlier upload is compared
  const indexed = run(uploads, 800);
  if (JSON.stringify(exact.flagged) !== JSON.stringify(indexed.flagged)) throw new Error(`verdicts differ at N=${n}: ${exact.flagged} vs ${indexed.flagged}`);
  console.log(`${n} | ${exact.msPerUpload.toFixed(1)} | ${indexed.msPerUpload.toFixed(1)} | ${indexed.flagged.length}`);
}

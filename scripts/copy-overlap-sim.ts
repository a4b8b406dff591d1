/**
 * Records real honest DeMo updates for the copy check's measurements
 * (docs/verification.md "Exact checks"): N replicas of a run train R rounds
 * from one shared set of parameters (each with its own momentum, as tabs
 * have), at each of several sequence counts per replica, and every round's
 * updates are written as their sorted (tensor, block, index, sign) keys
 * (src/verify/overlap.ts), so copy rules can be measured against them
 * without training again (scripts/copy-rule-eval.ts reads the file;
 * src/run/testdata/honest-tiny-updates.json holds five of its `tiny` rounds):
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
 *     npx vite-node scripts/copy-overlap-sim.ts -- [--model tinyDemo] [--replicas 4] [--rounds 12]
 *       [--batches 2,8,16,32] [--out bench-results/copy-overlap-tinyDemo.json]
 *
 * Prints each round's pairwise index overlaps (per-mille, floored as the
 * coordinator's check floors them).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openShardLoader, type FetchFn } from '../src/data/loader';
import { createNodeGpu } from '../src/gpu/node-gpu';
import { GpuModel } from '../src/model/gpu-model';
import { initParams } from '../src/model/init';
import { decodeUpdate } from '../src/protocol/update-codec';
import { assignRanges, roundSeed } from '../src/run/assignment';
import { parseRunConfig } from '../src/run/run-config';
import { DemoReplica } from '../src/train/demo-trainer';
import { scheduledLearningRate } from '../src/train/schedule';
import { indexKeys, overlap, updateKeys } from '../src/verify/overlap';

const argv = process.argv.slice(2).filter((a) => a !== '--');
const flags = new Map<string, string>();
for (let i = 0; i < argv.length; i += 2) flags.set(argv[i].replace(/^--/, ''), argv[i + 1]);
const MODEL = flags.get('model') ?? 'tinyDemo';
const N = Number(flags.get('replicas') ?? 4);
const ROUNDS = Number(flags.get('rounds') ?? 12);
const BATCHES = (flags.get('batches') ?? '2,8,16,32').split(',').map(Number);
const OUT = flags.get('out') ?? `bench-results/copy-overlap-${MODEL}.json`;

const config = parseRunConfig({ model: MODEL });
const opt = config.optimizer;
const demoSettings = { chunk: opt.chunk, topk: opt.topk, decay: opt.decay, gradClip: opt.gradClip, quantize1bit: opt.quantize1bit };

const fileFetch: FetchFn = async (url, init) => {
  const bytes = new Uint8Array(readFileSync(join('public', url.replace(/^file:\/\//, ''))));
  const m = init?.headers ? /^bytes=(\d+)-(\d+)$/.exec(new Headers(init.headers).get('range') ?? '') : null;
  if (!m) return new Response(bytes, { status: 200 });
  const end = Math.min(Number(m[2]), bytes.length - 1);
  return new Response(bytes.slice(Number(m[1]), end + 1), { status: 206, headers: { 'content-range': `bytes ${m[1]}-${end}/${bytes.length}` } });
};

/** Per sequence count: rounds × replicas of key arrays (signs included). */
type Recorded = Record<string, number[][][]>;

async function main(): Promise<void> {
  const loader = await openShardLoader({ baseUrl: 'file:///data/' + config.dataset, fetch: fileFetch });
  const gpu = await createNodeGpu();
  const runId = Uint8Array.from(config.runId.match(/../g)!.map((h) => parseInt(h, 16)));
  const out: Recorded = {};
  for (const B of BATCHES) {
    const shared = GpuModel.fromParams(gpu, config.model, initParams(config.model, config.initSeed));
    const replicas = Array.from({ length: N }, () => new DemoReplica(shared, demoSettings));
    const expected = replicas[0].expectedUpdate;
    out[B] = [];
    for (let t = 0; t < ROUNDS; t++) {
      const lr = scheduledLearningRate(config.lr, config.totalSteps, t);
      const ranges = assignRanges(N, N * B, t * N * B, roundSeed(config.runId, t));
      const bytes: Uint8Array[] = [];
      for (let r = 0; r < N; r++) {
        const batch = await loader.batchForRange(ranges[r].start, ranges[r].count, config.seqLen);
        bytes.push((await replicas[r].computeUpdate(batch, lr, { runId, step: t, batchStart: ranges[r].start, batchCount: ranges[r].count })).bytes);
      }
      const keys = bytes.map((b) => updateKeys(decodeUpdate(b, expected)));
      out[B].push(keys.map((k) => Array.from(k)));
      const pairs: number[] = [];
      for (let a = 0; a < N; a++) for (let b = a + 1; b < N; b++) pairs.push(Math.floor(1000 * overlap(indexKeys(keys[a]), indexKeys(keys[b]))));
      console.log(`B ${B} round ${t}: index overlap ‰ ${pairs.join(' ')}`);
      await replicas[0].applyAgreed(bytes, lr, opt.weightDecay);
      mkdirSync(dirname(OUT), { recursive: true });
      writeFileSync(OUT, JSON.stringify({ model: MODEL, replicas: N, rounds: ROUNDS, keys: out }));
    }
    for (const r of replicas) r.dispose();
    shared.dispose();
  }
  gpu.device.destroy();
}

await main();
process.exit(0);

/**
 * Our kernels through Dawn in Node (npm `webgpu`), for GPU servers without a
 * browser: the same WGSL the browser runs, at sizes a real GPU needs.
 *
 *   npm run bench -- --node [--sections training,demo,memory,matmul]
 *     [--preset bpe-100m] [--seq-len 1024] [--round-tokens 4096] [--sequences N] [--micro-batch K]
 *     [--updates 8] [--steps 3] [--warmup-rounds 1] [--gpu-memory 16]
 *     [--sizes 1024,2048,4096] [--layouts nt,nn,tn] [--reps 10] [--trials 3] [--warmup 2]
 *     [--tiles sweep|default|"16,16,4,4,16;16,16,8,8,8"] [--budget-s 240]
 *     [--out bench-results/bench-node.json]
 *
 * Sections:
 * - training: tokens/s of a preset, `--steps` rounds after `--warmup-rounds`, each
 *   round `--round-tokens` of synthetic token ids (speed does not depend on
 *   the text) in sequences of `--seq-len` (default the preset's context, at
 *   most 1024), trained through DemoReplica in micro-batches as a tab does.
 * - demo: the same rounds' DeMo encode (compress) and decode (apply of
 *   `--updates` agreed updates) as a share of the round (bench/demo-share.ts).
 *   `--sequences` trains fewer sequences than the round holds and scales
 *   forward + backward linearly, for slow adapters.
 * - memory: the memory plan (planMemory with a `--gpu-memory` GiB budget) for
 *   that round against the bytes the device really allocated.
 * - matmul: every tile configuration that fits the device, checked against
 *   float64 (bench/node-matmul.ts). It starts no new size once `--budget-s`
 *   seconds have passed since launch, so a slow GPU still prints a report.
 * The micro-batch is the plan's unless `--micro-batch` says otherwise.
 * Prints one table per section and, last, one JSON line with everything;
 * also writes the JSON to --out.
 *
 * The defaults (bpe-100m, 4 sequences of 1024 per round, 3 timed rounds, then
 * the matmul sweep within 240 s) are sized for a GPU server's ten-minute slot.
 * Packed for a server without node: npm run bench -- --pack-node, then there
 * bash bench-results/node-pack/run.sh [these flags].
 *
 * Without a GPU (SwiftShader through Vulkan), e.g.:
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npm run bench -- --node \
 *     --sections training,demo,memory --preset tinyDemo --round-tokens 4096 --sequences 4 --steps 1
 *   VK_ICD_FILENAMES=… npm run bench -- --node --sections matmul --sizes 64,96x80x72 --tiles default
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs, type BenchArgs } from '../bench/args';
import { trackAllocations, type AllocSnapshot } from '../bench/alloc-tracker';
import { benchDemoShare, type DemoShareResult } from '../bench/demo-share';
import { demoShareHeadline, demoShareTable, memoryTable, trainingTokensTable } from '../bench/demo-share-table';
import { checkMemory, planFor, type MemoryCheck } from '../bench/memory-check';
import { detailTable, matmulSweep, parseTiles, summaryTable, type MatmulSweep } from '../bench/node-matmul';
import type { TimingOptions } from '../bench/timing';
import type { Layout } from '../bench/types';
import { Gpu } from '../src/gpu/gpu';
import { getPreset } from '../src/model/config';
import { DEFAULT_DEMO } from '../src/train/demo-trainer';

const started = Date.now();
const log = (line: string) => console.log(line);

/** Lives as long as the process: see nodeGpu(). */
let dawnInstance: GPU | null = null;

/**
 * createNodeGpu() (src/gpu/node-gpu.ts) as it stands, except that it keeps
 * the GPU object create() returns. createNodeGpu drops it; once V8 collects
 * it, Dawn tears its instance down under the live device and the process
 * dies in the first submit (segfault, "futex facility returned an unexpected
 * error code", std::system_error). Use createNodeGpu again once it holds it.
 */
async function nodeGpu(): Promise<Gpu> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawnInstance = create([]);
  return Gpu.create(dawnInstance);
}

function intFlag(args: BenchArgs, name: string, fallback: number): number {
  const raw = args.flags.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: expected a non-negative integer, got "${String(raw)}"`);
  return v;
}

interface RoundOutcome {
  training: DemoShareResult;
  memory: MemoryCheck;
}

/** One replica trains `--steps` rounds; the training, demo and memory sections all read this one run. */
async function benchRound(gpu: Gpu, args: BenchArgs): Promise<RoundOutcome> {
  const preset = String(args.flags.get('preset') ?? 'bpe-100m');
  const model = getPreset(preset);
  const seqLen = intFlag(args, 'seq-len', Math.min(1024, model.max_position_embeddings));
  const roundTokens = intFlag(args, 'round-tokens', 4096);
  const updates = intFlag(args, 'updates', 8);
  const roundSequences = Math.ceil(roundTokens / seqLen);
  const budget = Number(args.flags.get('gpu-memory') ?? 16) * 2 ** 30;
  const plan = planFor(gpu, { model, seqLen, sequences: roundSequences, updates, chunk: DEFAULT_DEMO.chunk, topk: DEFAULT_DEMO.topk, budget });
  log(`[bench-node] memory plan for ${preset}, ${roundSequences}×${seqLen} per round: ${plan.fits ? `micro-batch ${plan.microBatch}` : plan.reason}`);
  const spec = {
    preset,
    seqLen,
    sequences: Math.max(1, Math.min(roundSequences, intFlag(args, 'sequences', roundSequences))),
    microBatch: Math.max(1, intFlag(args, 'micro-batch', plan.fits ? plan.microBatch : 1)),
    roundTokens,
    updates,
    steps: intFlag(args, 'steps', 3),
    warmupSteps: intFlag(args, 'warmup-rounds', 1),
  };
  // Counting starts on the empty device, so every byte the replica holds is seen.
  const tracker = trackAllocations(gpu.device);
  const seen: { snap?: AllocSnapshot } = {};
  try {
    const training = await benchDemoShare(gpu, spec, { log, afterRound: () => void (seen.snap = tracker.snapshot()) });
    if (!seen.snap) throw new Error('the round ended without an allocation snapshot');
    return { training, memory: checkMemory(plan, seen.snap) };
  } finally {
    tracker.uninstall();
  }
}

async function benchMatmul(gpu: Gpu, args: BenchArgs): Promise<MatmulSweep & { timing: TimingOptions }> {
  const timing: TimingOptions = { reps: args.reps, warmup: Math.max(args.warmup, 1), trials: args.trials };
  const sweep = await matmulSweep(gpu, {
    sizes: args.sizes,
    layouts: String(args.flags.get('layouts') ?? 'nt,nn,tn').split(',') as Layout[],
    tiles: parseTiles(String(args.flags.get('tiles') ?? 'sweep')),
    timing,
    deadline: started + intFlag(args, 'budget-s', 240) * 1000,
    log,
  });
  return { ...sweep, timing };
}

function printRound(r: RoundOutcome, wanted: string[]): void {
  if (wanted.includes('training')) {
    log('\ntraining through DemoReplica (forward + backward in micro-batches, synthetic token ids; round = fwd+bwd + encode + decode)');
    log(trainingTokensTable([r.training]));
  }
  if (wanted.includes('demo')) {
    log(`\n${demoShareHeadline([r.training])}`);
    log(demoShareTable([r.training]));
  }
  if (wanted.includes('memory')) {
    const p = r.memory.plan;
    log(`\nmemory plan (budget ${(p.budget / 2 ** 30).toFixed(1)} GiB, micro-batch ${p.microBatch}${p.fits ? '' : `; ${p.reason}`}) against the device's live storage buffers after the round`);
    log(memoryTable(r.memory));
    const t = r.training;
    if (t.effectiveMicroBatch !== p.microBatch) {
      log(`note: the plan's micro-batch is ${p.microBatch} but forward/backward ran ${t.effectiveMicroBatch} sequences at a time (${t.spec.sequences} of the round's ${t.roundSequences} sequences timed), so activations differ`);
    }
    log(`largest buffers: ${r.memory.largest.map((b) => `${b.label} ${(b.bytes / 2 ** 20).toFixed(1)} MiB${b.count > 1 ? ` ×${b.count}` : ''}`).join(', ')}`);
  }
}

function printMatmul(m: MatmulSweep & { timing: TimingOptions }): void {
  log(`\nmatmul through Dawn, every tile configuration (wall clock per rep, median of ${m.timing.trials} trials; "!" = failed its check)`);
  log(detailTable(m.results));
  log('\nbest tiles per size and layout (GFLOP/s)');
  log(summaryTable(m.results));
  if (m.notRun.length > 0) log(`not run (time budget): ${m.notRun.join(', ')}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { sizes: '1024,2048,4096', reps: 10, out: 'bench-results/bench-node.json' });
  const wanted = String(args.flags.get('sections') ?? 'training,demo,memory,matmul').split(',');
  const gpu = await nodeGpu();
  const adapter = { ...gpu.info };
  log(`adapter: ${JSON.stringify(adapter)} timestamps: ${gpu.features.timestamp}`);
  const round = ['training', 'demo', 'memory'].some((s) => wanted.includes(s)) ? await benchRound(gpu, args) : null;
  const matmul = wanted.includes('matmul') ? await benchMatmul(gpu, args) : null;
  const report = {
    adapter,
    env: { date: new Date().toISOString(), node: process.version, hostCpus: cpus().length, timestamps: gpu.features.timestamp, argv: process.argv.slice(2).join(' '), wallS: (Date.now() - started) / 1000 },
    ...(round && { training: round.training, memory: round.memory }),
    ...(matmul && { matmulNode: matmul.results, skippedTiles: matmul.skippedTiles, matmulNotRun: matmul.notRun, matmulTiming: matmul.timing }),
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  if (round) printRound(round, wanted);
  if (matmul) printMatmul(matmul);
  log(`\nwrote ${args.out} (${report.env.wallS.toFixed(0)} s)`);
  log(JSON.stringify(report));
  gpu.device.destroy();
}

// Dawn keeps the process alive after the device is gone; exit explicitly, as scripts/check-kernels.ts does.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * The run worker: one DeMo replica on this tab's GPU. It loads the epoch
 * checkpoint, applies each round's agreed updates and trains on the ranges
 * the coordinator assigns, answering the page (src/train/run-worker-protocol.ts)
 * one request at a time. The page never waits on the GPU; the worker rests
 * between requests so the GPU is busy at most `duty` of the time.
 */
import { z } from 'zod';
import { hexToBytes } from '@noble/hashes/utils.js';
import { datasetBaseUrl } from '../data/dataset-ref';
import { openIdbCache, openShardLoader, type ShardLoader } from '../data/loader';
import { Gpu } from '../gpu/gpu';
import { exportCheckpoint } from '../model/checkpoint';
import { GpuModel } from '../model/gpu-model';
import { decodeUpdate, proofUnits, UpdateDecodeError, type ClientUpdate } from '../protocol/update-codec';
import { agreementScoreOfKeys, MAX_SCORE } from '../verify/agreement-score';
import { claimedSketch, PROOF_ERROR_CAP, proofErrorPermille, unitRange } from '../verify/sequence-proof';
import { updateKeys } from '../verify/overlap';
import { DemoReplica } from './demo-trainer';
import { planMemory } from './memory-plan';
import { f32FromBits, ToRunWorkerSchema, type FromRunWorker, type RunWorkerRequest } from './run-worker-protocol';

interface Loaded {
  gpu: Gpu;
  replica: DemoReplica;
  loader: ShardLoader;
  seqLen: number;
  runId: Uint8Array;
  adapter: string;
}

let loaded: Loaded | null = null;
let duty = 1;
// Requests run one after another: an apply must finish before the next train reads the weights.
let queue: Promise<void> = Promise.resolve();

function post(msg: FromRunWorker): void {
  const transfer = msg.type === 'trained' ? [msg.update.buffer as ArrayBuffer] : msg.type === 'exported' ? [msg.bytes.buffer as ArrayBuffer] : [];
  (self as unknown as Worker).postMessage(msg, transfer);
}

self.onmessage = (ev: MessageEvent) => {
  const parsed = ToRunWorkerSchema.safeParse(ev.data);
  if (!parsed.success) {
    const message = `run worker: rejected a malformed message: ${z.prettifyError(parsed.error)}`;
    console.error(message);
    const id = typeof ev.data?.id === 'number' ? ev.data.id : null;
    post({ type: 'error', id, message });
    return;
  }
  const msg = parsed.data;
  if (msg.type === 'duty') {
    duty = msg.duty;
    return;
  }
  queue = queue.then(() => handle(msg));
};

async function handle(msg: RunWorkerRequest): Promise<void> {
  const t0 = performance.now();
  try {
    if (msg.type === 'plan') await plan(msg);
    else if (msg.type === 'load') await load(msg);
    else if (msg.type === 'apply') await apply(msg);
    else if (msg.type === 'verify') await verify(msg);
    else if (msg.type === 'export') await exportParams(msg);
    else await train(msg);
  } catch (err) {
    console.error(err);
    post({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
  // The usage cap: rest in proportion to the time the GPU just worked.
  const busy = performance.now() - t0;
  if (duty < 1) await new Promise((r) => setTimeout(r, (busy * (1 - duty)) / duty));
}

async function openData(dataset: string, vocab: number): Promise<ShardLoader> {
  // A shipped name lives under the app's data/, a URL is the same folder for every client (src/data/dataset-ref.ts).
  const baseUrl = datasetBaseUrl(dataset, new URL(import.meta.env.BASE_URL, self.location.origin).href);
  const cache = await openIdbCache().catch(() => undefined);
  const loader = await openShardLoader({ baseUrl, cache });
  if (loader.manifest.vocabSize !== vocab) throw new Error(`dataset ${dataset} has vocabulary ${loader.manifest.vocabSize}, the model expects ${vocab}`);
  return loader;
}

function unload(): void {
  if (!loaded) return;
  loaded.replica.dispose();
  loaded.replica.model.dispose();
  loaded = null;
}

/** The tab's device, made on first use and kept: the plan reads its limits and the model then lives on it. */
let device: Promise<Gpu> | null = null;
function gpuDevice(): Promise<Gpu> {
  device ??= Gpu.create(navigator.gpu, (message) => {
    device = null;
    post({ type: 'error', id: null, message });
  }).catch((err: unknown) => {
    device = null;
    throw err;
  });
  return device;
}

const adapterName = (gpu: Gpu) => `${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`.trim();

/** The memory plan on this adapter (src/train/memory-plan.ts), before anything is downloaded. */
async function plan(msg: Extract<RunWorkerRequest, { type: 'plan' }>): Promise<void> {
  const gpu = await gpuDevice();
  const { maxBufferSize, maxStorageBufferBindingSize } = gpu.limits;
  const p = planMemory({
    model: msg.model,
    seqLen: msg.seqLen,
    optimizer: msg.optimizer,
    maxSequences: msg.maxSequences,
    maxUpdates: msg.maxSequences,
    budget: msg.budget,
    limits: { maxBufferSize, maxStorageBufferBindingSize },
  });
  post({ type: 'planned', id: msg.id, plan: p, adapter: adapterName(gpu) });
}

async function load(msg: Extract<RunWorkerRequest, { type: 'load' }>): Promise<void> {
  unload();
  const config = msg.model;
  const gpu = await gpuDevice();
  const loader = await openData(msg.dataset, config.vocab_size);
  const model = GpuModel.fromSafetensors(gpu, msg.checkpoint, config);
  try {
    const replica = new DemoReplica(model, msg.optimizer);
    replica.microBatch = msg.microBatch;
    loaded = { gpu, replica, loader, seqLen: msg.seqLen, runId: hexToBytes(msg.runId), adapter: adapterName(gpu) };
    post({ type: 'loaded', id: msg.id, checksum: await model.checksum(), parameters: model.parameterCount, adapter: loaded.adapter });
  } catch (err) {
    model.dispose();
    throw err;
  }
}

async function exportParams(msg: Extract<RunWorkerRequest, { type: 'export' }>): Promise<void> {
  const { replica } = need();
  const bytes = exportCheckpoint(replica.model.config, await replica.model.readParams()).safetensors;
  post({ type: 'exported', id: msg.id, bytes });
}

function need(): Loaded {
  if (!loaded) throw new Error('run worker: no checkpoint loaded yet');
  return loaded;
}

async function apply(msg: Extract<RunWorkerRequest, { type: 'apply' }>): Promise<void> {
  const { replica } = need();
  const t0 = performance.now();
  const { checksum } = await replica.applyAgreed(msg.updates, f32FromBits(msg.lrBits), msg.weightDecay);
  post({ type: 'applied', id: msg.id, step: msg.step, checksum, ms: performance.now() - t0 });
}

async function train(msg: Extract<RunWorkerRequest, { type: 'train' }>): Promise<void> {
  const { replica, loader, seqLen, runId } = need();
  const t0 = performance.now();
  const batch = await loader.batchForRange(msg.start, msg.count, seqLen);
  const header = { runId, step: msg.step, batchStart: msg.start, batchCount: msg.count };
  const u = await replica.computeUpdate(batch, f32FromBits(msg.lrBits), header);
  post({
    type: 'trained',
    id: msg.id,
    step: msg.step,
    update: u.bytes,
    loss: u.loss,
    gradNorm: u.gradNorm,
    tokens: msg.count * seqLen,
    ms: performance.now() - t0,
  });
}

/**
 * Scores other clients' updates (docs/verification.md): first the proof of
 * the unit the draw gave this tab, recomputed on the pre-round parameters
 * (the queue runs this before the round's apply); a proof off by more than
 * the run allows scores the minimum. Then the agreement with the round's
 * trusted updates: for each candidate the first maxReferences references that
 * are not its own slot. An update that does not decode scores the minimum:
 * the coordinator checked that it decodes, so it cannot be an honest one. A
 * reference that does not decode is left out (the coordinator checked it
 * too, so only a bug gets here).
 */
async function verify(msg: Extract<RunWorkerRequest, { type: 'verify' }>): Promise<void> {
  const { replica, loader, seqLen } = need();
  const t0 = performance.now();
  const refs = msg.references.flatMap(({ slot, update }) => {
    const decoded = decodeOrNull(slot, update, replica.expectedUpdate);
    return decoded ? [{ slot, keys: updateKeys(decoded) }] : [];
  });
  const scores: { slot: number; score: number }[] = [];
  const proofs: { slot: number; unit: number; errorPermille: number }[] = [];
  let recomputeMs = 0;
  for (const { slot, update, unit: u } of msg.checks) {
    const decoded = decodeOrNull(slot, update, replica.expectedUpdate);
    if (!decoded || u >= proofUnits(decoded.batchCount)) {
      scores.push({ slot, score: -MAX_SCORE });
      continue;
    }
    const r0 = performance.now();
    const unit = unitRange(decoded.batchCount, u);
    const recomputed = await replica.unitSketch(await loader.batchForRange(decoded.batchStart + unit.start, unit.count, seqLen), msg.step);
    recomputeMs += performance.now() - r0;
    const errorPermille = Math.min(PROOF_ERROR_CAP, proofErrorPermille(claimedSketch(decoded, u), recomputed));
    proofs.push({ slot, unit: u, errorPermille });
    if (errorPermille > msg.maxProofErrorPermille) {
      console.warn(`run worker: slot ${slot}'s proof of unit ${u} (sequences from ${decoded.batchStart + unit.start}) is off by ${errorPermille}‰`);
      scores.push({ slot, score: -MAX_SCORE });
      continue;
    }
    const against = refs.filter((r) => r.slot !== slot).slice(0, msg.maxReferences);
    scores.push({ slot, score: agreementScoreOfKeys(updateKeys(decoded), against.map((r) => r.keys)) });
  }
  post({ type: 'verified', id: msg.id, step: msg.step, scores, proofs, ms: performance.now() - t0, recomputeMs });
}

function decodeOrNull(slot: number, bytes: Uint8Array, expected: DemoReplica['expectedUpdate']): ClientUpdate | null {
  try {
    return decodeUpdate(bytes, expected);
  } catch (err) {
    if (!(err instanceof UpdateDecodeError)) throw err;
    console.warn(`run worker: the update of slot ${slot} does not decode: ${err.message}`);
    return null;
  }
}

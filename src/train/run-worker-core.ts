/**
 * The run worker's work: one DeMo replica on this client's GPU. It loads the
 * epoch checkpoint, applies each round's agreed updates and trains on the
 * ranges the coordinator assigns, answering its run client
 * (src/train/run-worker-protocol.ts) one request at a time, and rests between
 * requests so the GPU is busy at most `duty` of the time.
 *
 * It knows nothing of its engine: a tab runs it in a Web Worker
 * (run-worker.ts), the headless client in its own process
 * (src/node-client/in-process-worker.ts). What differs, the environment
 * gives: the GPU, where the resume record and the data chunks are kept, the
 * app's base URL, and how answers are sent.
 */
import { z } from 'zod';
import { hexToBytes } from '@noble/hashes/utils.js';
import { datasetBaseUrl } from '../data/dataset-ref';
import { openShardLoader, type ChunkCache, type ShardLoader } from '../data/loader';
import { Gpu } from '../gpu/gpu';
import { exportCheckpoint } from '../model/checkpoint';
import { parameterSpecs } from '../model/config';
import { GpuModel } from '../model/gpu-model';
import { planLayout } from '../model/param-layout';
import { decodeUpdate, proofUnits, UpdateDecodeError, type ClientUpdate } from '../protocol/update-codec';
import { agreementScoreOfKeys, MAX_SCORE } from '../verify/agreement-score';
import { claimedSketch, PROOF_ERROR_CAP, proofErrorPermille, updateUnit } from '../verify/sequence-proof';
import { updateKeys } from '../verify/overlap';
import { DemoReplica } from './demo-trainer';
import { planMemory } from './memory-plan';
import { readRecord, restoreReplica, type Line } from './resume';
import { resumeKey, type RecordStore } from './resume-store';
import { SaveCadence } from './save-cadence';
import { f32FromBits, ToRunWorkerSchema, type FromRunWorker, type RunWorkerRequest } from './run-worker-protocol';

export interface RunWorkerEnv {
  /** This client's GPU device; `onLost` is called if the device is lost later. */
  createGpu(onLost: (message: string) => void): Promise<Gpu>;
  /** Where the resume record is kept; rejects where there is no such place (then nothing is saved). */
  openRecordStore(): Promise<RecordStore>;
  /** Where downloaded data chunks are kept; rejects where there is none (then every chunk is fetched). */
  openChunkCache(): Promise<ChunkCache>;
  /** The app's base URL: shipped datasets live under its data/ (src/data/dataset-ref.ts). */
  appBaseUrl: string;
  /** Sends an answer; the bytes of `transfer` may be moved rather than copied. */
  post(msg: FromRunWorker, transfer: ArrayBuffer[]): void;
}

/** The worker's end: give it every message the run client sends. */
export function runWorkerCore(env: RunWorkerEnv): (data: unknown) => void {

  interface Loaded {
    gpu: Gpu;
    replica: DemoReplica;
    loader: ShardLoader;
    seqLen: number;
    runId: Uint8Array;
    adapter: string;
    /** The run (hex) and resumeKey() the resume record is filed under. */
    runHex: string;
    modelKey: string;
    /** Where the parameters and momentum stand: what the next resume record will say. */
    line: Line;
  }

  let loaded: Loaded | null = null;
  let duty = 1;
  // Requests run one after another: an apply must finish before the next train reads the weights.
  let queue: Promise<void> = Promise.resolve();

  function post(msg: FromRunWorker): void {
    env.post(msg, msg.type === 'trained' ? [msg.update.buffer as ArrayBuffer] : msg.type === 'exported' ? [msg.bytes.buffer as ArrayBuffer] : []);
  }

  async function handle(msg: RunWorkerRequest): Promise<void> {
    const t0 = performance.now();
    try {
      if (msg.type === 'plan') await plan(msg);
      else if (msg.type === 'load') await load(msg);
      else if (msg.type === 'resume') await resume(msg);
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
    const baseUrl = datasetBaseUrl(dataset, env.appBaseUrl);
    const cache = await env.openChunkCache().catch(() => undefined);
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
    device ??= env.createGpu((message) => {
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

  type ReplicaRequest = Extract<RunWorkerRequest, { type: 'load' | 'resume' }>;

  /** Opens the request's dataset, then makes the replica and keeps it as this worker's, filed under the request's run and model. */
  async function adopt(msg: ReplicaRequest, gpu: Gpu, make: () => Promise<DemoReplica>, line: Line): Promise<Loaded> {
    const loader = await openData(msg.dataset, msg.model.vocab_size);
    const replica = await make();
    replica.microBatch = msg.microBatch;
    const modelKey = resumeKey(msg.model, msg.optimizer, msg.seqLen);
    loaded = { gpu, replica, loader, seqLen: msg.seqLen, runId: hexToBytes(msg.runId), adapter: adapterName(gpu), runHex: msg.runId, modelKey, line };
    return loaded;
  }

  async function load(msg: Extract<RunWorkerRequest, { type: 'load' }>): Promise<void> {
    unload();
    const gpu = await gpuDevice();
    // A checkpoint starts a new line of state: a record from before it (another epoch, or what a resync left behind) must not come back.
    await (await resumeStore())?.clear();
    const l = await adopt(msg, gpu, async () => {
      const model = GpuModel.fromSafetensors(gpu, msg.checkpoint, msg.model);
      try {
        return new DemoReplica(model, msg.optimizer);
      } catch (err) {
        model.dispose();
        throw err;
      }
    }, { step: msg.step, checksum: '', prevChecksum: '', lastHashes: [], momentumStep: -1 });
    l.line.checksum = await l.replica.model.checksum();
    post({ type: 'loaded', id: msg.id, checksum: l.line.checksum, parameters: l.replica.model.parameterCount, adapter: l.adapter });
  }

  /**
   * The tab's resume record, restored onto the GPU (src/train/resume.ts), or
   * an answer of null with the reason: none stored, another run's, or one that
   * does not hash to its own checksum (then it is forgotten).
   */
  async function resume(msg: Extract<RunWorkerRequest, { type: 'resume' }>): Promise<void> {
    unload();
    const t0 = performance.now();
    const store = await resumeStore();
    const floats = planLayout(parameterSpecs(msg.model)).totalFloats;
    const record = await store?.load(msg.runId, resumeKey(msg.model, msg.optimizer, msg.seqLen), floats);
    if (!record) {
      post({ type: 'resumed', id: msg.id, resumed: null, reason: store ? null : 'this client has nowhere to keep a resume record' });
      return;
    }
    const gpu = await gpuDevice();
    try {
      const { params: _p, momentum: _m, runId: _r, modelKey: _k, ...line } = record;
      const l = await adopt(msg, gpu, () => restoreReplica(gpu, msg.model, msg.optimizer, record), line);
      post({ type: 'resumed', id: msg.id, resumed: { ...line, parameters: l.replica.model.parameterCount, adapter: l.adapter, ms: performance.now() - t0 }, reason: null });
    } catch (err) {
      await store?.clear();
      const reason = err instanceof Error ? err.message : String(err);
      console.warn(`run worker: not resuming: ${reason}`);
      post({ type: 'resumed', id: msg.id, resumed: null, reason });
    }
  }

  /** The resume store, opened once; null where the environment has none (then nothing is saved). */
  let store: Promise<RecordStore | null> | null = null;
  function resumeStore(): Promise<RecordStore | null> {
    store ??= env.openRecordStore().catch((err: unknown) => {
      console.warn(`run worker: no resume store (${err instanceof Error ? err.message : String(err)}); a reload will download the checkpoint`);
      return null;
    });
    return store;
  }

  const cadence = new SaveCadence();

  /**
   * Saves the resume record after an apply when the cadence allows, before
   * the next request runs: the readback must see these parameters, and the
   * answer then says what was saved. The cadence keeps both parts together
   * under its share of wall time.
   */
  async function maybeSave(l: Loaded): Promise<void> {
    const s = await resumeStore();
    if (!s || !cadence.due(performance.now())) return;
    cadence.started();
    try {
      const t0 = performance.now();
      const record = await readRecord(l.replica, l.runHex, l.modelKey, l.line);
      const t1 = performance.now();
      await s.put(record);
      cadence.finished(performance.now(), record.step, t1 - t0, performance.now() - t1);
    } catch (err) {
      cadence.failed(performance.now());
      console.warn(`run worker: could not save the resume record of step ${l.line.step}: ${err instanceof Error ? err.message : String(err)}`);
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
    const l = need();
    if (msg.step !== l.line.step) throw new Error(`run worker: asked to apply round ${msg.step}, but the parameters are at step ${l.line.step}`);
    const t0 = performance.now();
    const { checksum } = await l.replica.applyAgreed(msg.updates, f32FromBits(msg.lrBits), msg.weightDecay);
    l.line = { ...l.line, step: msg.step + 1, checksum, prevChecksum: l.line.checksum, lastHashes: msg.hashes };
    await maybeSave(l);
    post({ type: 'applied', id: msg.id, step: msg.step, checksum, ms: performance.now() - t0, saved: { ...cadence.stats } });
  }

  /** Trains the assigned range, or with `until` as much of it as the round's time box allows (docs/design.md §11). */
  async function train(msg: Extract<RunWorkerRequest, { type: 'train' }>): Promise<void> {
    const l = need();
    const { replica, loader, seqLen, runId } = l;
    const t0 = performance.now();
    const batch = await loader.batchForRange(msg.start, msg.count, seqLen);
    const header = { runId, step: msg.step, batchStart: msg.start, batchCount: msg.count };
    const u = await replica.computeUpdate(batch, f32FromBits(msg.lrBits), header, msg.until);
    l.line = { ...l.line, momentumStep: msg.step };
    post({
      type: 'trained',
      id: msg.id,
      step: msg.step,
      update: u.bytes,
      count: u.count,
      loss: u.loss,
      gradNorm: u.gradNorm,
      tokens: u.count * seqLen,
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
      if (!decoded || u >= proofUnits(decoded.batchCount, decoded.unitSize)) {
        scores.push({ slot, score: -MAX_SCORE });
        continue;
      }
      const r0 = performance.now();
      const unit = updateUnit(decoded, u);
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

  return (data: unknown) => {
    const parsed = ToRunWorkerSchema.safeParse(data);
    if (!parsed.success) {
      const message = `run worker: rejected a malformed message: ${z.prettifyError(parsed.error)}`;
      console.error(message);
      const raw = data as { id?: unknown } | null;
      post({ type: 'error', id: typeof raw?.id === 'number' ? raw.id : null, message });
      return;
    }
    const msg = parsed.data;
    if (msg.type === 'duty') {
      duty = msg.duty;
      return;
    }
    queue = queue.then(() => handle(msg));
  };
}

/**
 * The update a simulated client sends: a well-formed DeMo update for the
 * run's model, encoded with the real codec (src/protocol/update-codec.ts), so
 * the coordinator's strict decode, header checks and copy check
 * (server/copy-check.ts) treat it exactly as a tab's. No model stands behind
 * it: each block keeps top-k random distinct indices with random signs
 * (values of a plausible size in an unquantized run), and the proofs are
 * small finite floats of the size a gradient sketch has. Fresh random
 * indices every round and every client, so two updates overlap about as
 * much as two unrelated ones (k/size per block), far under the copy line.
 *
 * The tensor layout comes from the run config the same way the coordinator
 * derives it (server/run-model.ts): the model's parameter specs, the run's
 * chunk and top-k through the DeMo block rule.
 */
import { blockCount, blockShape, elementCount, keptPerBlock } from '../src/demo/blocks';
import { parameterSpecs } from '../src/model/config';
import { encodeUpdate, PROOF_ROWS, proofUnits, unitSizeFor, UPDATE_FORMAT_VERSION, type ExpectedUpdate, type UpdateMode, type UpdateTensor } from '../src/protocol/update-codec';
import type { RunConfig } from '../src/run/run-config';

export interface UpdateHead {
  step: number;
  /** The assigned range's first sequence and its count (the round's assignment for the slot). */
  start: number;
  count: number;
}

interface TensorPlan {
  shape: number[];
  block: number[];
  size: number;
  k: number;
  blocks: number;
}

/** The run's update layout, computed once per run. */
export interface UpdatePlan {
  runId: Uint8Array;
  expected: ExpectedUpdate & UpdateMode;
  tensors: TensorPlan[];
}

export function updatePlan(config: RunConfig): UpdatePlan {
  const shapes = parameterSpecs(config.model).map((s) => [...s.shape]);
  const { chunk, topk, quantize1bit } = config.optimizer;
  const runId = Uint8Array.from(config.runId.match(/../g)!.map((h) => parseInt(h, 16)));
  const tensors = shapes.map((shape) => {
    const block = blockShape(shape, chunk);
    const size = elementCount(block);
    return { shape, block, size, k: keptPerBlock(size, topk), blocks: blockCount(shape, block) };
  });
  return { runId, expected: { shapes, chunk, topk, quantize1bit }, tensors };
}

/** xorshift32: fast, seeded, good enough to scatter indices. Returns u32. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Writes k distinct indices in [0, size), ascending, into out[at..at+k). */
function sampleSorted(out: Uint32Array, at: number, size: number, k: number, next: () => number, scratch: Uint32Array): void {
  if (k >= size) {
    for (let i = 0; i < k; i++) out[at + i] = i;
    return;
  }
  if (2 * k >= size) {
    // Dense: partial Fisher–Yates over [0, size).
    for (let i = 0; i < size; i++) scratch[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + (next() % (size - i));
      const t = scratch[i];
      scratch[i] = scratch[j];
      scratch[j] = t;
    }
    const picked = scratch.subarray(0, k).sort();
    out.set(picked, at);
    return;
  }
  // Sparse: insertion into a sorted run, redrawing repeats.
  let n = 0;
  while (n < k) {
    const v = next() % size;
    let i = n;
    while (i > 0 && out[at + i - 1] > v) i--;
    if (i > 0 && out[at + i - 1] === v) continue;
    for (let j = n; j > i; j--) out[at + j] = out[at + j - 1];
    out[at + i] = v;
    n++;
  }
}

/** One encoded update for `head`, random per `seed`. */
export function buildUpdate(plan: UpdatePlan, head: UpdateHead, seed: number): Uint8Array {
  const next = xorshift(seed);
  const oneBit = plan.expected.quantize1bit;
  const maxSize = Math.max(...plan.tensors.map((t) => t.size));
  const scratch = new Uint32Array(maxSize);
  const tensors: UpdateTensor[] = plan.tensors.map((t) => {
    const entries = t.blocks * t.k;
    const indices = new Uint32Array(entries);
    const values = new Float32Array(entries);
    for (let b = 0; b < t.blocks; b++) sampleSorted(indices, b * t.k, t.size, t.k, next, scratch);
    for (let i = 0; i < entries; i++) {
      const r = next();
      const sign = r & 1 ? -1 : 1;
      values[i] = oneBit ? sign : sign * (0.5 + (r >>> 1) / 2 ** 31);
    }
    return { shape: [...t.shape], block: [...t.block], k: t.k, indices, values };
  });
  // A gradient sketch's rows are finite floats of modest size; these are plausible ones nobody computed.
  const proof = Float32Array.from({ length: proofUnits(head.count) * PROOF_ROWS }, () => (next() / 2 ** 32 - 0.5) * 0.2);
  const { chunk, topk, quantize1bit } = plan.expected;
  return encodeUpdate(
    { version: UPDATE_FORMAT_VERSION, runId: plan.runId, step: head.step, batchStart: head.start, batchCount: head.count, tensors, proof },
    { chunk, topk, quantize1bit },
  );
}

/** Header offsets of the fields a round fixes (src/protocol/update-codec.ts, header table). */
const STEP_OFFSET = 22;
const BATCH_START_OFFSET = 26;
const BATCH_COUNT_OFFSET = 34;
const UNIT_SIZE_OFFSET = 38;

/**
 * `bytes` (an encoded update) with another step and batch range written into
 * its header, in place: the body does not depend on them, so the result is
 * byte for byte what the encoder gives for the new header, as long as the
 * count needs as many proofs (throws otherwise). Lets a simulated client
 * build its updates before the run and still send each one for the range the
 * round assigns it.
 */
export function reHead(bytes: Uint8Array, head: UpdateHead): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const oldCount = view.getUint32(BATCH_COUNT_OFFSET, true);
  const oldUnits = proofUnits(oldCount, view.getUint32(UNIT_SIZE_OFFSET, true));
  if (oldUnits !== proofUnits(head.count)) {
    throw new RangeError(`cannot re-head an update of ${oldCount} sequences to ${head.count}: they carry different numbers of proofs`);
  }
  if (!Number.isSafeInteger(head.start) || head.start < 0 || head.start + head.count > Number.MAX_SAFE_INTEGER) throw new RangeError(`batch start ${head.start} is not a u53`);
  view.setUint32(STEP_OFFSET, head.step, true);
  view.setUint32(BATCH_START_OFFSET, head.start % 2 ** 32, true);
  view.setUint32(BATCH_START_OFFSET + 4, Math.floor(head.start / 2 ** 32), true);
  view.setUint32(BATCH_COUNT_OFFSET, head.count, true);
  view.setUint32(UNIT_SIZE_OFFSET, unitSizeFor(head.count), true);
  return bytes;
}

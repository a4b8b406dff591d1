/**
 * What a rogue puts in its payloads: well-formed DeMo updates built from the
 * codec's own structures (src/protocol/update-codec.ts), so every byte passes
 * the coordinator's strict decode and header checks, with no model behind
 * them. The tensor shapes follow from the run config exactly as the
 * coordinator derives them (server/run-model.ts): the preset's parameter
 * specs, the run's chunk and top-k through the DeMo block rule.
 *
 * Pure TypeScript: the rogue page and the test process both use it.
 */
import { blockCount, blockShape, elementCount, keptPerBlock } from '../../src/demo/blocks';
import { parameterSpecs } from '../../src/model/config';
import { decodeUpdate, encodeUpdate, PROOF_ROWS, proofUnits, unitSizeFor, UPDATE_FORMAT_VERSION, type ExpectedUpdate, type UpdateMode, type UpdateTensor } from '../../src/protocol/update-codec';
import type { RunConfig } from '../../src/run/run-config';

export interface RunShapes {
  runId: Uint8Array;
  expected: ExpectedUpdate & UpdateMode;
}

/** The header fields a payload must carry for a slot: its step and assigned batch range. */
export interface Head {
  step: number;
  start: number;
  count: number;
}

export function runShapes(config: RunConfig): RunShapes {
  const shapes = parameterSpecs(config.model).map((s) => [...s.shape]);
  const { chunk, topk, quantize1bit } = config.optimizer;
  const runId = new Uint8Array(config.runId.match(/../g)!.map((h) => parseInt(h, 16)));
  return { runId, expected: { shapes, chunk, topk, quantize1bit } };
}

/** A seeded PRNG (mulberry32): uniform [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** k distinct indices in [0, n), ascending (the codec's canonical order within a block). */
function distinctSorted(n: number, k: number, rand: () => number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < k) picked.add(Math.floor(rand() * n));
  return [...picked].sort((a, b) => a - b);
}

/** An update for `head` with random distinct indices per block and the signs `sign(rand)` gives. */
export function craftUpdate(rs: RunShapes, head: Head, rand: () => number, sign: () => 1 | -1): Uint8Array {
  const { shapes, chunk, topk, quantize1bit } = rs.expected;
  const tensors: UpdateTensor[] = shapes.map((shape) => {
    const block = blockShape(shape, chunk);
    const size = elementCount(block);
    const k = keptPerBlock(size, topk);
    const blocks = blockCount(shape, block);
    const indices = new Uint32Array(blocks * k);
    const values = new Float32Array(blocks * k);
    for (let b = 0; b < blocks; b++) {
      distinctSorted(size, k, rand).forEach((idx, j) => {
        indices[b * k + j] = idx;
        // Unquantized runs carry floats: a sign times a plausible magnitude.
        values[b * k + j] = quantize1bit ? sign() : sign() * (0.5 + rand());
      });
    }
    return { shape: [...shape], block, k, indices, values };
  });
  // Sequence proofs it never computed: made-up sketches of a plausible size.
  const proof = Float32Array.from({ length: proofUnits(head.count) * PROOF_ROWS }, () => (rand() - 0.5) * 2);
  return encodeUpdate(
    { version: UPDATE_FORMAT_VERSION, runId: rs.runId, step: head.step, batchStart: head.start, batchCount: head.count, tensors, proof },
    { chunk, topk, quantize1bit },
  );
}

/** The proofs of `from` fitted to `count` sequences: a copier's best guess is the sketches it copied. */
function fittedProof(from: Float32Array, count: number): Float32Array {
  const out = new Float32Array(proofUnits(count) * PROOF_ROWS);
  for (let i = 0; i < out.length; i++) out[i] = from.length > 0 ? from[i % from.length] : 0;
  return out;
}

/** Random signs at random valid indices. */
export function randomUpdate(rs: RunShapes, head: Head, rand: () => number): Uint8Array {
  return craftUpdate(rs, head, rand, () => (rand() < 0.5 ? -1 : 1));
}

/** Every sign the same (at random indices, so no two rounds' updates overlap). */
export function constantUpdate(rs: RunShapes, head: Head, rand: () => number, value: 1 | -1 = 1): Uint8Array {
  return craftUpdate(rs, head, rand, () => value);
}

/**
 * The same update under another header: its own step and batch range, the
 * copied proofs fitted to its sequence count, decoded strictly as the
 * coordinator will.
 */
export function reHead(rs: RunShapes, bytes: Uint8Array, head: Head): Uint8Array {
  const u = decodeUpdate(bytes, rs.expected);
  const out = encodeUpdate({ ...u, step: head.step, batchStart: head.start, batchCount: head.count, unitSize: unitSizeFor(head.count), proof: fittedProof(u.proof, head.count) }, u);
  const check = decodeUpdate(out, rs.expected);
  if (check.step !== head.step || check.batchStart !== head.start || check.batchCount !== head.count) throw new Error('re-heading did not take');
  return out;
}

/** `bytes` re-headed with `fraction` of its signs (values) negated, chosen at random. */
export function flipSigns(rs: RunShapes, bytes: Uint8Array, head: Head, fraction: number, rand: () => number): Uint8Array {
  const u = decodeUpdate(bytes, rs.expected);
  const all = u.tensors.flatMap((t, ti) => Array.from(t.values, (_, i) => [ti, i] as const));
  const flips = Math.round(fraction * all.length);
  for (let n = 0; n < flips; n++) {
    const j = n + Math.floor(rand() * (all.length - n));
    [all[n], all[j]] = [all[j], all[n]];
    const [ti, i] = all[n];
    u.tensors[ti].values[i] = -u.tensors[ti].values[i];
  }
  return encodeUpdate({ ...u, step: head.step, batchStart: head.start, batchCount: head.count, unitSize: unitSizeFor(head.count), proof: fittedProof(u.proof, head.count) }, u);
}

/** The fraction of (tensor, entry) positions whose index and sign agree between two updates (the copy check's kind of overlap). */
export function overlap(rs: RunShapes, a: Uint8Array, b: Uint8Array): number {
  const x = decodeUpdate(a, rs.expected);
  const y = decodeUpdate(b, rs.expected);
  let same = 0;
  let total = 0;
  x.tensors.forEach((t, ti) => {
    const o = y.tensors[ti];
    for (let i = 0; i < t.indices.length; i++) {
      total++;
      if (t.indices[i] === o.indices[i] && Math.sign(t.values[i]) === Math.sign(o.values[i])) same++;
    }
  });
  return total === 0 ? 0 : same / total;
}

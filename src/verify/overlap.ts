/**
 * The exact duplicate check (docs/verification.md): two updates that keep
 * mostly the same coefficients with mostly the same signs are copies. An
 * update is seen as the set of its (tensor, block, index, sign) keys, packed
 * into one sorted numeric array; overlap is |a ∩ b| / min(|a|, |b|).
 *
 * Key of an entry: ((globalBlock · 4096 + index) · 2 + signBit), where
 * globalBlock numbers the blocks of all tensors in wire order (tensor by
 * tensor, row-major in each) and signBit is 1 for −1. Block indices are
 * < 4096 (blocks are at most 64×64), so distinct entries never share a key,
 * and keys stay exact doubles while there are fewer than 2^40 blocks.
 */
import type { ClientUpdate } from '../protocol/update-codec';

/** Largest number of elements in a block (64×64): the index field's range. */
export const INDEX_RANGE = 4096;

/** The sorted keys of an update (decodeUpdate's result; the values' signs are taken, ±1 or not). */
export function updateKeys(update: Pick<ClientUpdate, 'tensors'>): Float64Array {
  let total = 0;
  for (const t of update.tensors) total += t.indices.length;
  const keys = new Float64Array(total);
  let block = 0;
  let n = 0;
  for (const t of update.tensors) {
    const { k, indices, values } = t;
    if (k < 1 || indices.length % k !== 0) throw new RangeError(`updateKeys: ${indices.length} entries are not whole blocks of k = ${k}`);
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i];
      if (idx >= INDEX_RANGE) throw new RangeError(`updateKeys: index ${idx} ≥ ${INDEX_RANGE}`);
      const b = block + Math.floor(i / k);
      keys[n++] = ((b * INDEX_RANGE + idx) * 2) + (values[i] < 0 ? 1 : 0);
    }
    block += indices.length / k;
  }
  // Wire order is already ascending within a block and blocks ascend, so this
  // is sorted unless the caller built the update by hand; sort to be sure.
  for (let i = 1; i < n; i++) {
    if (keys[i] <= keys[i - 1]) {
      keys.sort();
      break;
    }
  }
  return keys;
}

/** |a ∩ b| of two sorted key arrays, comparing keys after `shift` (0: whole key; 1: drop the sign bit). */
function intersection(a: Float64Array, b: Float64Array, dropSign: boolean): number {
  let i = 0;
  let j = 0;
  let common = 0;
  const key = dropSign ? (x: number) => Math.floor(x / 2) : (x: number) => x;
  while (i < a.length && j < b.length) {
    const x = key(a[i]);
    const y = key(b[j]);
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return common;
}

/** Share of keys that match in tensor, block, index and sign: |a ∩ b| / min(|a|, |b|), 0 when either is empty. */
export function overlap(a: Float64Array, b: Float64Array): number {
  const m = Math.min(a.length, b.length);
  return m === 0 ? 0 : intersection(a, b, false) / m;
}

/** As overlap, ignoring the signs: the share of kept coefficients (tensor, block, index) the two have in common. */
export function indexOverlap(a: Float64Array, b: Float64Array): number {
  const m = Math.min(a.length, b.length);
  return m === 0 ? 0 : intersection(a, b, true) / m;
}

/** The keys with their sign bits dropped, sorted: (tensor, block, index) alone, for checks that signs must not fool. */
export function indexKeys(keys: Float64Array): Float64Array {
  return keys.map((k) => Math.floor(k / 2));
}

/** overlap as an integer per-mille (what the run's config compares against). */
export function overlapPermille(a: Float64Array, b: Float64Array): number {
  return Math.round(1000 * overlap(a, b));
}

/**
 * What changed between two run states, and applying it (docs/design.md §11):
 * the coordinator sends this after every step instead of the whole state.
 *
 * The diff knows nothing of RunState's fields, so a new field travels without
 * changes here. Two levels are patched and everything below is replaced whole:
 * the state's fields (a changed scalar or array is sent whole), and inside an
 * object-valued field its keys (`clients` by record, `round` by key), where an
 * array that kept its length is patched by index (`round.commitments` by
 * slot). Everything is plain JSON, as the stored state is.
 */

import type { RunState } from './types';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Changes to one object. `patch` appears only at the top level (the state itself). */
export interface ObjectPatch {
  /** Keys added or replaced whole. */
  set?: Record<string, Json>;
  /** Keys removed. */
  del?: string[];
  /** Object-valued keys changed key by key. */
  patch?: Record<string, ObjectPatch>;
  /** Array-valued keys that kept their length: [index, new element] for each changed element. */
  at?: Record<string, [number, Json][]>;
}

/** A diff this client cannot apply to the state it holds: it must fetch the whole state instead. */
export class PatchError extends Error {
  override name = 'PatchError';
}

/** Levels patched key by key: the state (0) and its object-valued fields (1). */
const PATCH_DEPTH = 1;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality of JSON values (key order ignored, as JSON objects have none). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
  return true;
}

/** The patch that turns `a` into `b`, or null when they are equal. */
export function diffObject(a: JsonObject, b: JsonObject, depth = 0): ObjectPatch | null {
  const out: ObjectPatch = {};
  for (const k of Object.keys(b)) {
    const va = a[k];
    const vb = b[k];
    if (!Object.hasOwn(a, k)) (out.set ??= {})[k] = vb;
    else if (jsonEqual(va, vb)) continue;
    else if (depth < PATCH_DEPTH && isObject(va) && isObject(vb)) (out.patch ??= {})[k] = diffObject(va, vb, depth + 1) as ObjectPatch;
    else if (depth <= PATCH_DEPTH && Array.isArray(va) && Array.isArray(vb) && va.length === vb.length) {
      const changed: [number, Json][] = [];
      for (let i = 0; i < vb.length; i++) if (!jsonEqual(va[i], vb[i])) changed.push([i, vb[i]]);
      // Each pair costs its index too: past half the elements, the whole array is smaller.
      if (2 * changed.length < vb.length) (out.at ??= {})[k] = changed;
      else (out.set ??= {})[k] = vb;
    } else (out.set ??= {})[k] = vb;
  }
  for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) (out.del ??= []).push(k);
  return out.set || out.del || out.patch || out.at ? out : null;
}

// Own keys only: assigning "__proto__" on a plain object would replace its prototype.
function safeKey(k: string): string {
  if (k === '__proto__') throw new PatchError('a patch may not name the key "__proto__"');
  return k;
}

/** `base` with `patch` applied; `base` is not modified (unchanged parts are shared). Throws PatchError when the patch does not fit `base`. */
export function applyObject(base: JsonObject, patch: ObjectPatch, depth = 0): JsonObject {
  const out: JsonObject = { ...base };
  const touched = new Set<string>();
  const once = (k: string) => {
    if (touched.has(safeKey(k))) throw new PatchError(`the patch changes key ${k} twice`);
    touched.add(k);
  };
  for (const [k, v] of Object.entries(patch.set ?? {})) {
    once(k);
    out[k] = v;
  }
  for (const k of patch.del ?? []) {
    once(k);
    if (!Object.hasOwn(out, k)) throw new PatchError(`the patch removes key ${k}, which this state lacks`);
    delete out[k];
  }
  for (const [k, p] of Object.entries(patch.patch ?? {})) {
    once(k);
    const v = out[k];
    if (depth >= PATCH_DEPTH || !isObject(v)) throw new PatchError(`the patch changes ${k} key by key, but it is not an object here`);
    out[k] = applyObject(v, p, depth + 1);
  }
  for (const [k, pairs] of Object.entries(patch.at ?? {})) {
    once(k);
    const v = out[k];
    if (!Array.isArray(v)) throw new PatchError(`the patch changes ${k} by index, but it is not an array here`);
    const copy = v.slice();
    for (const [i, item] of pairs) {
      if (!Number.isInteger(i) || i < 0 || i >= copy.length) throw new PatchError(`index ${i} is outside ${k} (length ${copy.length})`);
      copy[i] = item;
    }
    out[k] = copy;
  }
  return out;
}

/** The state as JSON (it is plain JSON by construction, src/run/types.ts). */
const asJson = (s: RunState) => s as unknown as JsonObject;

/** What changed from `a` to `b`, or null when nothing did. */
export function diffState(a: RunState, b: RunState): ObjectPatch | null {
  return diffObject(asJson(a), asJson(b));
}

/** `base` with `changes` applied (validated beforehand by src/net/messages.ts stateChangesSchema). */
export function applyState(base: RunState, changes: ObjectPatch): RunState {
  return applyObject(asJson(base), changes) as unknown as RunState;
}

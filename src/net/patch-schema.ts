/**
 * The schema of a state diff (src/run/state-diff.ts ObjectPatch), derived
 * from the schema of the state it patches. Every value in a diff is checked
 * against the schema of the place it lands in, so a state built from a valid
 * state by valid diffs is as trusted as one parsed whole; and a field added to
 * the state schema is covered without touching this file.
 */
import { z } from 'zod';
import type { ObjectPatch } from '../run/state-diff';

type Shaped = z.ZodObject | z.ZodRecord;

function unwrap(s: z.ZodType): z.ZodType {
  let t = s;
  // A default, and a preprocess that upgrades stored shapes (a pipe), patch as the shape they end in.
  for (;;) {
    if (t instanceof z.ZodNullable || t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
    else if (t instanceof z.ZodPipe) t = t.out as z.ZodType;
    else return t;
  }
}

const isShaped = (s: z.ZodType): s is Shaped => s instanceof z.ZodObject || s instanceof z.ZodRecord;

/** [index, element] pairs of an array patched by index; apply checks each index against the array's length. */
function pairs(array: z.ZodArray, maxEntries: number) {
  return z.array(z.tuple([z.number().int().min(0).max(maxEntries - 1), array.element as z.ZodType])).max(maxEntries);
}

/** Keys of `schema`'s fields of a kind, each mapped to a schema, as an optional strict object. */
function byKey(shape: Record<string, z.ZodType>, pick: (field: z.ZodType) => z.ZodType | null) {
  const fields: Record<string, z.ZodOptional> = {};
  for (const [k, s] of Object.entries(shape)) {
    const t = pick(unwrap(s));
    if (t !== null) fields[k] = t.optional();
  }
  return z.strictObject(fields).optional();
}

/**
 * `depth` is the level of the object being patched (0: the state), as in
 * state-diff.ts: only level 0 may patch a field key by key. `maxEntries`
 * bounds every list and record in the patch.
 */
export function patchSchemaFor(schema: Shaped, maxEntries: number, depth = 0): z.ZodType<ObjectPatch> {
  const nested = (field: z.ZodType) => (depth < 1 && isShaped(field) ? patchSchemaFor(field, maxEntries, depth + 1) : null);
  const indexed = (field: z.ZodType) => (field instanceof z.ZodArray ? pairs(field, maxEntries) : null);
  const bounded = (r: Record<string, unknown>) => Object.keys(r).length <= maxEntries;
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodType>;
    const optional = Object.keys(shape).filter((k) => shape[k] instanceof z.ZodOptional);
    return z.strictObject({
      set: schema.partial().optional(),
      del: (optional.length > 0 ? z.array(z.enum(optional as [string, ...string[]])).max(optional.length) : z.tuple([])).optional(),
      patch: byKey(shape, nested),
      at: byKey(shape, indexed),
    }) as unknown as z.ZodType<ObjectPatch>;
  }
  const key = schema.keyType as z.ZodType<string>;
  const value = unwrap(schema.valueType as z.ZodType);
  const record = (v: z.ZodType) => z.record(key, v).refine(bounded, `more than ${maxEntries} entries`).optional();
  const sub = nested(value);
  const idx = indexed(value);
  return z.strictObject({
    set: record(schema.valueType as z.ZodType),
    del: z.array(key).max(maxEntries).optional(),
    patch: sub === null ? z.never().optional() : record(sub),
    at: idx === null ? z.never().optional() : record(idx),
  }) as unknown as z.ZodType<ObjectPatch>;
}

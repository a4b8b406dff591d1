/**
 * Where each parameter tensor lives in the model's flat buffers (parameters,
 * gradients, optimizer state all share this layout). Offsets are aligned to
 * 256 bytes so any tensor can be bound on its own as a buffer range, and one
 * dispatch can still sweep the whole flat buffer (AdamW, gradient norm).
 * Gaps stay zero: zero gradient, zero moment, zero weight.
 */
export const ALIGN_FLOATS = 64; // 256 bytes

export interface TensorSlot {
  name: string;
  shape: number[];
  /** Offset in f32 elements. */
  offset: number;
  size: number;
}

export interface ParamLayout {
  slots: TensorSlot[];
  byName: Map<string, TensorSlot>;
  /** Total f32 elements, gaps included. */
  totalFloats: number;
  /** Parameters, gaps excluded. */
  parameterCount: number;
}

export function planLayout(specs: { name: string; shape: number[] }[]): ParamLayout {
  const slots: TensorSlot[] = [];
  let offset = 0;
  let parameterCount = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    slots.push({ name: spec.name, shape: [...spec.shape], offset, size });
    offset += Math.ceil(size / ALIGN_FLOATS) * ALIGN_FLOATS;
    parameterCount += size;
  }
  return { slots, byName: new Map(slots.map((s) => [s.name, s])), totalFloats: offset, parameterCount };
}

export function slotOf(layout: ParamLayout, name: string): TensorSlot {
  const slot = layout.byName.get(name);
  if (!slot) throw new Error(`model has no parameter named ${name}`);
  return slot;
}

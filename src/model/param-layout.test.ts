import { describe, expect, it } from 'vitest';
import { getPreset, parameterCount, parameterSpecs } from './config';
import { ALIGN_FLOATS, planLayout, slotOf } from './param-layout';

describe('planLayout', () => {
  it('places every tensor at a 256-byte boundary, in order, without overlap', () => {
    const layout = planLayout(parameterSpecs(getPreset('tinyLora')));
    let end = 0;
    for (const slot of layout.slots) {
      expect(slot.offset % ALIGN_FLOATS).toBe(0);
      expect(slot.offset).toBeGreaterThanOrEqual(end);
      end = slot.offset + slot.size;
    }
    expect(layout.totalFloats).toBeGreaterThanOrEqual(end);
    expect(layout.totalFloats % ALIGN_FLOATS).toBe(0);
    expect(layout.parameterCount).toBe(parameterCount(getPreset('tinyLora')));
  });

  it('finds tensors by their Hugging Face name and names a missing one', () => {
    const layout = planLayout([{ name: 'a', shape: [3, 5] }, { name: 'b', shape: [7] }]);
    expect(slotOf(layout, 'b')).toMatchObject({ offset: ALIGN_FLOATS, size: 7, shape: [7] });
    expect(() => slotOf(layout, 'lm_head.weight')).toThrow(/no parameter named lm_head.weight/);
  });
});

import { describe, expect, it } from 'vitest';
import { specialize } from './wgsl';

const template = 'const WG: u32 = 256u;\nconst EPS: f32 = 1e-6f;\nconst FLAG = false;\nfn f() { let x = WG; }\n';

describe('specialize', () => {
  it('replaces top-level constants with typed literals', () => {
    const out = specialize(template, { WG: 64, EPS: 0.5, FLAG: true });
    expect(out).toContain('const WG: u32 = 64u;');
    expect(out).toContain('const EPS: f32 = 0.5f;');
    expect(out).toContain('const FLAG = true;');
    expect(out).toContain('let x = WG;');
  });

  it('returns the same string for the same request', () => {
    expect(specialize(template, { WG: 32 })).toBe(specialize(template, { WG: 32 }));
    expect(specialize(template, { WG: 32 })).not.toBe(specialize(template, { WG: 16 }));
  });

  it('names a constant the template lacks', () => {
    expect(() => specialize(template, { TILE: 4 })).toThrow(/no top-level const TILE/);
  });
});

import { describe, expect, it } from 'vitest';
import { SaveCadence } from './save-cadence';

describe('SaveCadence', () => {
  it('saves every apply while saves are cheap against the time between them', () => {
    const c = new SaveCadence(0.05);
    for (let i = 0; i < 5; i++) {
      const t = i * 1000;
      expect(c.due(t)).toBe(true);
      c.started();
      c.finished(t + 2, i + 1, 1, 1);
    }
    expect(c.stats).toEqual({ saves: 5, skipped: 0, savedStep: 5, readMs: 1, putMs: 1 });
  });

  it('spaces costly saves so they take at most the share of wall time', () => {
    const c = new SaveCadence(0.05);
    expect(c.due(0)).toBe(true);
    c.started();
    c.finished(500, 1, 200, 300); // cost 500 ms: the next may start 19 × 500 ms later
    expect(c.due(500 + 9499)).toBe(false);
    expect(c.due(500 + 9500)).toBe(true);
    expect(c.stats.skipped).toBe(1);
  });

  it('never starts a save while one is being written, and retries after a failure', () => {
    const c = new SaveCadence(0.05);
    expect(c.due(0)).toBe(true);
    c.started();
    expect(c.due(1e9)).toBe(false);
    c.failed(10);
    expect(c.due(10)).toBe(true);
    expect(c.stats.saves).toBe(0);
  });

  it('refuses a share outside (0, 1]', () => {
    expect(() => new SaveCadence(0)).toThrow(/share/);
    expect(() => new SaveCadence(1.5)).toThrow(/share/);
  });
});

import { describe, expect, it } from 'vitest';
import { ifRangeAllows, parseRange } from './range';

describe('parseRange', () => {
  it('reads the three single-range forms, clamping the end to the file', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
  });

  it('refuses what it cannot satisfy or parse', () => {
    for (const bad of ['bytes=100-', 'bytes=5-4', 'bytes=-0', 'bytes=-', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b', 'bytes=1e3-']) {
      expect(parseRange(bad, 100).kind, bad).toBe('invalid');
    }
    expect(parseRange('bytes=0-', 0).kind).toBe('invalid');
  });
});

describe('ifRangeAllows', () => {
  it('honours a Range only under the current strong ETag (or no If-Range)', () => {
    expect(ifRangeAllows(undefined, '"abc"')).toBe(true);
    expect(ifRangeAllows('"abc"', '"abc"')).toBe(true);
    expect(ifRangeAllows(' "abc" ', '"abc"')).toBe(true);
    for (const other of ['"abd"', 'W/"abc"', 'abc', 'Tue, 01 Jan 2030 00:00:00 GMT', '']) expect(ifRangeAllows(other, '"abc"'), other).toBe(false);
  });
});

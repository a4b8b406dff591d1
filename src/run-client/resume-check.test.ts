import { describe, expect, it } from 'vitest';
import type { BundleRound } from '../net/update-bundle';
import { resumeMismatch } from './resume-check';

const h = (c: string) => c.repeat(64);
const round: BundleRound = { step: 6, epoch: 0, lrBits: 1, checksum: '00000000000000aa', slots: [0, 1], clients: [h('a'), h('b')], hashes: [h('1'), h('2')], payloads: [] };
const line = { step: 7, prevChecksum: '00000000000000aa', lastHashes: [h('1'), h('2')] };

describe('resumeMismatch', () => {
  it('accepts a record that applied the agreed round from the agreed checksum', () => {
    expect(resumeMismatch(line, round)).toBeNull();
  });

  it('refuses a record the agreed history does not confirm, saying why', () => {
    expect(resumeMismatch(line, undefined)).toMatch(/no agreed round 6/);
    expect(resumeMismatch(line, { ...round, step: 5 })).toMatch(/no agreed round 6/);
    expect(resumeMismatch(line, { ...round, checksum: null })).toMatch(/nobody witnessed round 6/);
    expect(resumeMismatch(line, { ...round, checksum: '00000000000000bb' })).toMatch(/agreed from checksum 00000000000000bb/);
    expect(resumeMismatch({ ...line, lastHashes: [h('1')] }, round)).toMatch(/not the ones/);
    expect(resumeMismatch({ ...line, lastHashes: [h('2'), h('1')] }, round)).toMatch(/not the ones/);
  });
});

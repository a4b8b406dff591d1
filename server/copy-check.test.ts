/**
 * The copy check against the whole run (server/copy-check.ts): what it
 * compares, that made-up signs at copied indices do not hide a copy, that a
 * copy of an update from before a coordinator restart is still found, and
 * that unrelated updates stay unflagged.
 */
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/kernels/testing/random';
import { commitment } from '../src/protocol/commitment';
import { decodeUpdate, encodeUpdate } from '../src/protocol/update-codec';
import { CopyCheck } from './copy-check';
import { runModel } from './run-model';
import { Store } from './store';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';
import { tempDir } from './test-server';

const config = serverTestConfig();
const rm = runModel(config);
const THRESHOLD = config.verification.maxOverlapPermille;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function openStore(): { path: string; store: Store } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, 'run.sqlite');
  const store = Store.open(path);
  cleanups.push(() => store.close());
  return { path, store };
}

function put(store: Store, step: number, bytes: Uint8Array): string {
  const hash = bytesToHex(commitment(bytes));
  store.putPayload(hash, step, 'c'.repeat(64), bytes, 0);
  return hash;
}

/** The same indices with every sign drawn at random. */
function randomSigns(bytes: Uint8Array, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const u = decodeUpdate(bytes, rm.expected);
  const tensors = u.tensors.map((t) => ({ ...t, values: t.values.map(() => (r() < 0.5 ? -1 : 1)) }));
  const { chunk, topk, quantize1bit } = rm.expected;
  return encodeUpdate({ ...u, step: u.step + 1, tensors }, { chunk, topk, quantize1bit });
}

describe('CopyCheck', () => {
  it('has nothing to compare the first update with, and leaves unrelated updates of many rounds under the threshold', () => {
    const { store } = openStore();
    const check = new CopyCheck(store, rm, THRESHOLD);
    expect(check.check(0, put(store, 0, encodedTestUpdate(config, 0, 1)))).toBeNull();
    for (let step = 1; step < 30; step++) {
      const found = check.check(step, put(store, step, encodedTestUpdate(config, step, 100 + step)));
      expect(found === null || found.permille < config.verification.maxOverlapPermille, `step ${step}: ${JSON.stringify(found)}`).toBe(true);
    }
  });

  it('finds an update with made-up signs at another one’s indices, 20 rounds later and after a restart, at 1000‰', () => {
    const { path, store } = openStore();
    const original = encodedTestUpdate(config, 0, 7);
    const first = new CopyCheck(store, rm, THRESHOLD);
    const source = put(store, 0, original);
    first.check(0, source);
    for (let step = 1; step < 20; step++) first.check(step, put(store, step, encodedTestUpdate(config, step, 200 + step)));
    store.close();

    const again = Store.open(path);
    cleanups.push(() => again.close());
    const copy = put(again, 20, randomSigns(original, 3));
    expect(new CopyCheck(again, rm, THRESHOLD).check(20, copy)).toEqual({ permille: 1000, with: source });
  });

  it('compares within the round exactly: the later of two identical updates names the earlier', () => {
    const { store } = openStore();
    const check = new CopyCheck(store, rm, THRESHOLD);
    const bytes = encodedTestUpdate(config, 4, 9);
    const a = put(store, 4, bytes);
    check.check(4, a);
    const b = put(store, 4, randomSigns(bytes, 5));
    expect(check.check(4, b)).toEqual({ permille: 1000, with: a });
  });
});

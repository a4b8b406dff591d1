import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CopyCheck } from '../server/copy-check';
import { checkPayload } from '../server/payload-check';
import { runModel } from '../server/run-model';
import { Store } from '../server/store';
import { tempDir } from '../server/test-server';
import { commitment } from '../src/protocol/commitment';
import { decodeUpdate, encodedUpdateBytes } from '../src/protocol/update-codec';
import { parseRunConfig } from '../src/run/run-config';
import { simulationConfig, type PayloadName } from './bench';
import { buildUpdate, reHead, updatePlan } from './update-builder';

const RUN_ID = '0123456789abcdef0123456789abcdef';
const configOf = (payload: PayloadName, clients = 10, seqs = 4) =>
  parseRunConfig(simulationConfig({ payload, clients, seqsPerClient: seqs, trainTimeoutMs: 1000, witnessTimeoutMs: 1000 }, RUN_ID));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('buildUpdate', () => {
  it('builds a tinyDemo update that decodes strictly for the run and passes the coordinator payload check for its slot', () => {
    const config = configOf('tinyDemo');
    const rm = runModel(config);
    const head = { step: 7, start: 120, count: 4 };
    const bytes = buildUpdate(updatePlan(config), head, 42);
    expect(bytes.length).toBe(encodedUpdateBytes(rm.expected.shapes, rm.expected, 4));
    const u = decodeUpdate(bytes, rm.expected);
    expect([u.step, u.batchStart, u.batchCount]).toEqual([7, 120, 4]);
    expect(bytesToHex(u.runId)).toBe(RUN_ID);
    expect(u.proof.length).toBe(16);
    for (const t of u.tensors) for (const v of t.values) expect(Math.abs(v)).toBe(1);
    expect(() => checkPayload(bytes, bytesToHex(commitment(bytes)), rm, 7, { start: 120, count: 4 })).not.toThrow();
    // Another slot's range is refused: the header names the assignment.
    expect(() => checkPayload(bytes, bytesToHex(commitment(bytes)), rm, 7, { start: 124, count: 4 })).toThrow(/assigned/);
  });

  it('builds a bpe-100m update of the real size that decodes', () => {
    const config = configOf('bpe-100m');
    const rm = runModel(config);
    const bytes = buildUpdate(updatePlan(config), { step: 3, start: 0, count: 4 }, 5);
    expect(bytes.length).toBe(encodedUpdateBytes(rm.expected.shapes, rm.expected, 4));
    expect(bytes.length).toBeGreaterThan(500_000);
    const u = decodeUpdate(bytes, rm.expected);
    expect(u.tensors.length).toBe(rm.specs.length);
  });

  it('differs between seeds and is the same for one seed', () => {
    const plan = updatePlan(configOf('tinyDemo'));
    const head = { step: 1, start: 0, count: 4 };
    expect(buildUpdate(plan, head, 1)).toEqual(buildUpdate(plan, head, 1));
    expect(buildUpdate(plan, head, 1)).not.toEqual(buildUpdate(plan, head, 2));
  });

  it('re-heads to exactly the bytes the encoder gives for the new step and range', () => {
    const plan = updatePlan(configOf('tinyDemo'));
    const built = buildUpdate(plan, { step: 0, start: 0, count: 4 }, 9);
    const moved = reHead(built.slice(), { step: 123_456, start: 2 ** 40 + 17, count: 4 });
    expect(moved).toEqual(buildUpdate(plan, { step: 123_456, start: 2 ** 40 + 17, count: 4 }, 9));
    // Units of 2 from 9 to 16 sequences keep 8 proofs: 8 → 16 patches too (the unit size with it).
    const eight = buildUpdate(plan, { step: 0, start: 0, count: 8 }, 9);
    expect(reHead(eight.slice(), { step: 5, start: 96, count: 16 })).toEqual(buildUpdate(plan, { step: 5, start: 96, count: 16 }, 9));
    expect(() => reHead(eight.slice(), { step: 5, start: 96, count: 12 })).toThrow(/different numbers of proofs/);
    // A count that needs another number of proofs cannot be patched in.
    expect(() => reHead(built.slice(), { step: 1, start: 0, count: 5 })).toThrow(/proofs/);
  });

  it("passes the coordinator's copy check against other sims' updates of the run, and a copy does not", () => {
    const config = configOf('tinyDemo');
    const rm = runModel(config);
    const plan = updatePlan(config);
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = Store.open(join(dir, 'run.sqlite'));
    cleanups.push(() => store.close());
    const check = new CopyCheck(store, rm, config.verification.maxOverlapPermille);
    const put = (step: number, bytes: Uint8Array, client: string) => {
      const hash = bytesToHex(commitment(bytes));
      store.putPayload(hash, step, client, bytes, 0);
      return hash;
    };
    let seed = 1;
    let worst = 0;
    // 10 sims over 6 rounds, each a fresh update: every one compared with the round's and the index's candidates.
    const kept: Uint8Array[] = [];
    for (let step = 0; step < 6; step++) {
      for (let sim = 0; sim < 10; sim++) {
        const bytes = buildUpdate(plan, { step, start: 40 * step + 4 * sim, count: 4 }, seed++);
        kept.push(bytes);
        const found = check.check(step, put(step, bytes, sim.toString(16).padStart(64, '0')));
        if (found) worst = Math.max(worst, found.permille);
      }
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(config.verification.maxOverlapPermille / 2);
    // The same indices under a new header is a copy, and the check sees it.
    const copy = reHead(kept[3].slice(), { step: 6, start: 240, count: 4 });
    const found = check.check(6, put(6, copy, 'f'.repeat(64)));
    expect(found?.permille).toBe(1000);
  });
});

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunState } from '../src/run/state-machine';
import type { RunState } from '../src/run/types';
import { Store, StoreError } from './store';
import { serverTestConfig } from './test-helpers';

const config = serverTestConfig();
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const dirs: string[] = [];

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'run.sqlite');
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateAt(step: number): RunState {
  const s = createRunState(config, 1000);
  s.step = step;
  s.clients[A] = { id: A, status: 'member', joinSeq: 0, missedRounds: 0, points: 10 * step, agreedUpdates: step, verifiedRounds: step, strikes: 0, contradictions: 0, unvested: [], forfeited: 0 };
  return s;
}

const ckpt = { epoch: 0, step: 0, checksum: '0123456789abcdef', bytes: Uint8Array.from([1, 2, 3]) };

describe('Store', () => {
  it('reopening the file restores config, snapshot, ledger, agreed sets, commitments, payloads and checkpoints', () => {
    const path = tempDb();
    const store = Store.open(path);
    expect(store.loadConfig()).toBeNull();
    expect(store.loadSnapshot()).toBeNull();
    store.createRun(config, stateAt(0), ckpt, 5);
    store.putPayload('e'.repeat(64), 0, A, Uint8Array.from([9, 8, 7]), 6);
    store.applyStep(
      stateAt(1),
      [
        { type: 'agreed', step: 0, epoch: 0, slots: [0], clients: [A], hashes: ['e'.repeat(64)], lrBits: 123, excluded: [], checksum: '00000000000000aa' },
        { type: 'points', clientId: A, step: 0, amount: 10 },
        { type: 'points', clientId: B, step: 0, amount: 10 },
        { type: 'phase', from: 'RoundWitness', to: 'Cooldown', step: 1, epoch: 0 },
        { type: 'epochEnd', epoch: 0, step: 1 },
      ],
      { now: 7, commitment: { step: 0, slot: 0, clientId: A, hash: 'e'.repeat(64), signature: 'f'.repeat(128) } },
    );
    store.close();

    const again = Store.open(path);
    expect(again.loadConfig()).toEqual(config);
    expect(again.loadSnapshot()).toEqual(stateAt(1));
    expect(again.pointsLedger()).toEqual([
      { clientId: A, step: 0, amount: 10, createdAt: 7 },
      { clientId: B, step: 0, amount: 10, createdAt: 7 },
    ]);
    expect(again.pointsTotal(A)).toBe(10);
    expect(again.pointsTotal('c'.repeat(64))).toBe(0);
    expect(again.agreedRange(0, 10)).toEqual([{ step: 0, epoch: 0, slots: [0], clients: [A], hashes: ['e'.repeat(64)], lrBits: 123, checksum: '00000000000000aa' }]);
    expect(again.commitments(0)).toEqual([{ step: 0, slot: 0, clientId: A, hash: 'e'.repeat(64), signature: 'f'.repeat(128) }]);
    expect([...again.getPayload('e'.repeat(64))!]).toEqual([9, 8, 7]);
    expect(again.getPayload('d'.repeat(64))).toBeNull();
    expect(again.latestCheckpoint()).toEqual(ckpt);
    expect(again.pendingCheckpoints()).toEqual([{ epoch: 1, step: 1 }]);
    again.close();
  });

  it('the copy index survives a reopen and ranks payloads by shared band keys, leaving the asker out', () => {
    const path = tempDb();
    const store = Store.open(path);
    store.putBands(A, 3, [1, 2, 3, 4]);
    store.putBands(B, 5, [3, 4, 5]);
    store.putBands('c'.repeat(64), 6, [9]);
    store.close();
    const again = Store.open(path);
    expect(again.similarByBands([1, 2, 3, 4, 5], 'd'.repeat(64), 10)).toEqual([
      { hash: A, shared: 4 },
      { hash: B, shared: 3 },
    ]);
    expect(again.similarByBands([3, 4], A, 10)).toEqual([{ hash: B, shared: 2 }]);
    expect(again.similarByBands([3, 4], 'd'.repeat(64), 1)).toEqual([{ hash: B, shared: 2 }]); // a tie goes to the newer
    expect(again.similarByBands([], A, 10)).toEqual([]);
    again.close();
  });

  it('a step whose ledger row already exists is rolled back whole: state and rows stay as they were', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 0);
    store.applyStep(stateAt(1), [{ type: 'points', clientId: A, step: 0, amount: 10 }], { now: 1 });
    const replay = () =>
      store.applyStep(
        stateAt(2),
        [
          { type: 'agreed', step: 1, epoch: 0, slots: [], clients: [], hashes: [], lrBits: 1, excluded: [], checksum: null },
          { type: 'points', clientId: A, step: 0, amount: 10 },
        ],
        { now: 2 },
      );
    expect(replay).toThrow(/UNIQUE/);
    expect(store.loadSnapshot()!.step).toBe(1);
    expect(store.pointsLedger()).toHaveLength(1);
    expect(store.agreedRange(0, 10)).toEqual([]);
    store.close();
  });

  it('refuses a store of an older schema, naming both versions', () => {
    const path = tempDb();
    Store.open(path).close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema'").run();
    db.close();
    expect(() => Store.open(path)).toThrow(/has store schema 1; this server reads schema 2/);
  });

  it('refuses a second run in the same database and a corrupt snapshot', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 0);
    expect(() => store.createRun(config, stateAt(0), ckpt, 0)).toThrow(StoreError);
    const bad = { ...stateAt(0), phase: 'Nonsense' } as unknown as RunState;
    store.applyStep(bad, [], { now: 1 });
    expect(() => store.loadSnapshot()).toThrow(/RunState shape/);
    store.close();
  });
});

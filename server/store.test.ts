import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunState } from '../src/run/state-machine';
import type { RunState } from '../src/run/types';
import { CLIENT_STATS_KEEP_STEPS, Store, StoreError } from './store';
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
  s.clients[A] = { id: A, status: 'member', joinSeq: 0, missedRounds: 0, points: 10 * step, agreedUpdates: step, verifiedRounds: step, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace: null };
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
        { type: 'agreed', step: 0, epoch: 0, slots: [0], clients: [A], hashes: ['e'.repeat(64)], lrBits: 123, excluded: [], checksum: '00000000000000aa', base: 0 },
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
          { type: 'agreed', step: 1, epoch: 0, slots: [], clients: [], hashes: [], lrBits: 1, excluded: [], checksum: null, base: 1 },
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

describe('Store: the rounds history', () => {
  const C = 'c'.repeat(64);
  const D = 'd'.repeat(64);
  const hashOf = (n: number) => n.toString(16).padStart(64, '0');
  const commitment = (step: number, slot: number, clientId: string, stats?: { loss: number; trainMs: number; applyMs?: number }) => ({
    step,
    slot,
    clientId,
    hash: hashOf(100 * step + slot + 1),
    signature: 'f'.repeat(128),
    stats,
  });

  /** A run at step `step` with the commitments (and their stats) of round `step` stored, one step each. */
  function committed(store: Store, step: number, reports: { clientId: string; stats?: { loss: number; trainMs: number; applyMs?: number } }[]): void {
    reports.forEach((r, slot) => {
      store.putPayload(hashOf(100 * step + slot + 1), step, r.clientId, new Uint8Array(10 * (slot + 1)), 1);
      store.applyStep(stateAt(step), [], { now: 2, commitment: commitment(step, slot, r.clientId, r.stats) });
    });
  }

  const agreedEffect = (step: number, agreedSlots: number[], clients: string[], excludedSlots: number[] = []) => ({
    type: 'agreed' as const,
    step,
    epoch: 0,
    slots: agreedSlots,
    clients: agreedSlots.map((s) => clients[s]),
    hashes: agreedSlots.map((s) => hashOf(100 * step + s + 1)),
    lrBits: 1,
    excluded: excludedSlots.map((s) => ({ slot: s, clientId: clients[s], reason: 'failed verification' })),
    checksum: null,
    base: step,
  });

  it('writes one row per agreed round: times, counts, tokens, the agreed payload bytes and the medians of the agreed reporters only', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 0);
    committed(store, 0, [
      { clientId: A, stats: { loss: 3, trainMs: 100, applyMs: 7 } },
      { clientId: B, stats: { loss: 5, trainMs: 300 } },
      { clientId: C }, // an old client: no stats
      { clientId: D, stats: { loss: 99, trainMs: 3_000_000, applyMs: 3_000_000 } }, // excluded: its report does not count
    ]);
    expect(store.clientStats(0)).toHaveLength(3);
    const facts = { step: 0, startedAt: 100, witnessStartedAt: 400, members: 4, tokens: 192, tokensSeen: 192 };
    store.applyStep(stateAt(1), [agreedEffect(0, [0, 1, 2], [A, B, C, D], [3])], { now: 1000, rounds: [facts] });
    const row = {
      step: 0,
      epoch: 0,
      startedAt: 100,
      endedAt: 1000,
      trainMs: 300,
      witnessMs: 600,
      members: 4,
      agreed: 3,
      excluded: 1,
      tokens: 192,
      tokensSeen: 192,
      bytes: 10 + 20 + 30,
      reporters: 2,
      loss: 4,
      clientTrainMs: 200,
      clientApplyMs: 7,
    };
    expect(store.round(0)).toEqual(row);
    expect(store.roundsFrom(0, 10)).toEqual([row]);
    expect(store.round(1)).toBeNull();
    store.close();
  });

  it('an empty round (nobody committed) is a row too, with no reporters and null medians', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 0);
    store.applyStep(stateAt(1), [agreedEffect(0, [], [])], { now: 50, rounds: [{ step: 0, startedAt: 10, witnessStartedAt: 40, members: 2, tokens: 64, tokensSeen: 64 }] });
    expect(store.round(0)).toMatchObject({ members: 2, agreed: 0, excluded: 0, bytes: 0, reporters: 0, loss: null, clientTrainMs: null, clientApplyMs: null, trainMs: 30, witnessMs: 10 });
    store.close();
  });

  it('one liar among four agreed reporters cannot move the median outside the honest values, whichever way it lies', () => {
    for (const lie of [100, 0]) {
      const store = Store.open(':memory:');
      store.createRun(config, stateAt(0), ckpt, 0);
      committed(store, 0, [
        { clientId: A, stats: { loss: 2.0, trainMs: 100 } },
        { clientId: B, stats: { loss: 2.1, trainMs: 110 } },
        { clientId: C, stats: { loss: 2.2, trainMs: 120 } },
        { clientId: D, stats: { loss: lie, trainMs: lie === 0 ? 0 : 3_600_000 } },
      ]);
      store.applyStep(stateAt(1), [agreedEffect(0, [0, 1, 2, 3], [A, B, C, D])], { now: 10 });
      const row = store.round(0)!;
      expect(row.reporters).toBe(4);
      expect(row.loss).toBeGreaterThanOrEqual(2.0);
      expect(row.loss).toBeLessThanOrEqual(2.2);
      expect(row.loss).toBeCloseTo(lie === 100 ? 2.15 : 2.05, 12);
      expect(row.clientTrainMs).toBeGreaterThanOrEqual(100);
      expect(row.clientTrainMs).toBeLessThanOrEqual(120);
      store.close();
    }
  });

  it('is part of applyStep: a step that fails stores neither its round row nor its client stats', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 0);
    store.applyStep(stateAt(0), [{ type: 'points', clientId: A, step: 0, amount: 10 }], { now: 1 });
    const failing = () =>
      store.applyStep(stateAt(1), [agreedEffect(0, [0], [A]), { type: 'points', clientId: A, step: 0, amount: 10 }], {
        now: 2,
        commitment: commitment(0, 0, A, { loss: 1, trainMs: 1 }),
        rounds: [{ step: 0, startedAt: 0, witnessStartedAt: 1, members: 1, tokens: 32, tokensSeen: 32 }],
      });
    expect(failing).toThrow(/UNIQUE/);
    expect(store.round(0)).toBeNull();
    expect(store.roundsFrom(0, 10)).toEqual([]);
    expect(store.clientStats(0)).toEqual([]);
    expect(store.commitments(0)).toEqual([]);
    store.close();
  });

  it('keeps client stats for CLIENT_STATS_KEEP_STEPS steps only, and every round row', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 0);
    committed(store, 0, [{ clientId: A, stats: { loss: 1, trainMs: 1 } }]);
    committed(store, 5, [{ clientId: A, stats: { loss: 1, trainMs: 1 } }]);
    store.applyStep(stateAt(1), [agreedEffect(0, [0], [A])], { now: 3 });
    const late = CLIENT_STATS_KEEP_STEPS + 1;
    store.applyStep(stateAt(late + 1), [agreedEffect(late, [], [])], { now: 4 });
    expect(store.clientStats(0)).toEqual([]);
    expect(store.clientStats(5)).toHaveLength(1);
    expect(store.roundsFrom(0, 10).map((r) => r.step)).toEqual([0, late]);
    expect(store.roundsFrom(1, 10).map((r) => r.step)).toEqual([late]);
    expect(store.roundsFrom(0, 1).map((r) => r.step)).toEqual([0]);
    expect(store.hasRoundsAfter(0)).toBe(true);
    expect(store.hasRoundsAfter(late)).toBe(false);
    store.close();
  });

  it('a schema-2 store made before the history tables gets them on open and records rounds from then on', () => {
    const path = tempDb();
    const old = Store.open(path);
    old.createRun(config, stateAt(0), ckpt, 0);
    old.close();
    const db = new Database(path);
    db.exec('DROP TABLE rounds; DROP TABLE client_stats;');
    db.close();
    const again = Store.open(path);
    expect(again.loadSnapshot()).toEqual(stateAt(0));
    again.applyStep(stateAt(1), [agreedEffect(0, [], [])], { now: 9 });
    expect(again.roundsFrom(0, 10).map((r) => r.step)).toEqual([0]);
    again.close();
  });

  it('reads wallet bindings from the rewards table when the rewards service made it, none before', () => {
    const path = tempDb();
    const store = Store.open(path);
    expect(store.walletBindings()).toEqual(new Map());
    const db = new Database(path);
    db.exec('CREATE TABLE reward_bindings (client_id TEXT PRIMARY KEY, wallet TEXT NOT NULL, run_id TEXT NOT NULL, message TEXT NOT NULL, wallet_signature TEXT NOT NULL, client_signature TEXT NOT NULL, created_at INTEGER NOT NULL)');
    db.prepare("INSERT INTO reward_bindings VALUES (?, 'Wallet1111111111111111111111111111', 'r', 'm', 's', 's', 0)").run(A);
    db.close();
    expect(store.walletBindings()).toEqual(new Map([[A, 'Wallet1111111111111111111111111111']]));
    store.close();
  });

  it('lists the epochs and their checkpoints, newest first', () => {
    const store = Store.open(':memory:');
    store.createRun(config, stateAt(0), ckpt, 5);
    store.applyStep(stateAt(3), [{ type: 'epochEnd', epoch: 0, step: 3 }], { now: 8 });
    expect(store.epochs(10)).toEqual([
      { epoch: 1, step: 3, checksum: null, at: 8 },
      { epoch: 0, step: 0, checksum: ckpt.checksum, at: 5 },
    ]);
    expect(store.epochs(1)).toHaveLength(1);
    store.close();
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelDoesNotFit } from './replica-sync';
import { afterStep, agreedRound, makeTab, sum } from './test-fakes';

const BUDGET = 2 ** 30;

describe('ReplicaSync', () => {
  afterEach(() => vi.restoreAllMocks());

  it('plans, loads the checkpoint when there is no resume record, then replays the agreed rounds in order', async () => {
    const tab = makeTab();
    tab.source.checkpoint = { ...tab.source.checkpoint, step: 3, checksum: sum(0x1003) };
    tab.source.rounds = [2, 3, 4].map((s) => agreedRound(s));
    tab.server.step = 5;
    await tab.replica.catchUp(BUDGET);
    expect(tab.worker.types()).toEqual(['plan', 'resume', 'load', 'apply', 'apply']);
    expect(tab.worker.calls[0]).toMatchObject({ budget: BUDGET, seqLen: tab.config.seqLen });
    expect(tab.worker.calls[2]).toMatchObject({ step: 3, microBatch: 2 });
    expect(tab.worker.applied()).toEqual([3, 4]);
    expect(tab.worker.calls[3]).toMatchObject({ hashes: tab.source.rounds[1].hashes, updates: tab.source.rounds[1].payloads, weightDecay: tab.config.optimizer.weightDecay });
    expect(tab.replica).toMatchObject({ loaded: true, appliedStep: 5, checksum: afterStep(4) });
    expect(tab.view.current.resume).toMatchObject({ from: 'checkpoint', step: 3, momentumStep: -1, saved: { savedStep: 5 } });
    expect(tab.view.current.memory).toMatchObject({ fits: true });
    expect(tab.view.current.applied.map((a) => [a.step, a.checksum])).toEqual([
      [3, afterStep(3)],
      [4, afterStep(4)],
    ]);
    expect(tab.view.current).toMatchObject({ status: 'catching-up', appliedStep: 5, checksum: afterStep(4) });
  });

  it('stops replaying where the coordinator has nothing newer, short of its live step', async () => {
    const tab = makeTab();
    tab.source.rounds = [0, 1, 2].map((s) => agreedRound(s));
    tab.server.step = 9; // the live round is ahead of the stored history (its agreed set is not stored yet)
    await tab.replica.catchUp(BUDGET);
    // A page that brought rounds asks again; an empty answer means nothing newer is stored.
    expect(tab.source.agreedFrom).toEqual([0, 3]);
    expect(tab.worker.applied()).toEqual([0, 1, 2]);
    expect(tab.replica.appliedStep).toBe(3);
    await tab.replica.replayTo(9);
    expect(tab.source.agreedFrom).toEqual([0, 3, 3]);
    expect(tab.worker.applied()).toEqual([0, 1, 2]);
  });

  it('replays page after page until it reaches the step (the coordinator sends a bounded page at a time)', async () => {
    const tab = makeTab();
    tab.source.rounds = [0, 1, 2, 3, 4, 5].map((s) => agreedRound(s));
    const all = tab.source.agreedSince.bind(tab.source);
    // Pages of two rounds.
    tab.source.agreedSince = async (from: number) => {
      const page = await all(from);
      const rounds = page.rounds.slice(0, 2);
      return { toStep: rounds.length > 0 ? rounds[rounds.length - 1].step + 1 : from, rounds };
    };
    tab.server.step = 6;
    await tab.replica.catchUp(BUDGET);
    expect(tab.worker.applied()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tab.source.agreedFrom).toEqual([0, 2, 4]);
  });

  it('stops before any download when the model does not fit, with the plan\'s reason', async () => {
    const tab = makeTab();
    tab.worker.handlers.plan = () => ({ type: 'planned', plan: { fits: false, microBatch: 0, reason: 'needs 3 GiB, has 2 GiB' }, adapter: 'fake' });
    const err = await tab.replica.catchUp(BUDGET).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelDoesNotFit);
    expect((err as Error).message).toBe('needs 3 GiB, has 2 GiB');
    expect(tab.worker.types()).toEqual(['plan']);
    expect(tab.source.downloads).toBe(0);
    expect(tab.view.current.memory).toMatchObject({ fits: false });
    expect(tab.replica.loaded).toBe(false);
  });

  it('resumes from a record that follows the agreed history, without downloading the checkpoint', async () => {
    const tab = makeTab();
    vi.spyOn(console, 'info').mockImplementation(() => {});
    tab.source.rounds = [4, 5, 6].map((s) => agreedRound(s));
    const r4 = tab.source.rounds[0];
    tab.worker.handlers.resume = () => ({
      type: 'resumed',
      resumed: { step: 5, checksum: afterStep(4), prevChecksum: r4.checksum, lastHashes: r4.hashes, momentumStep: 4, parameters: 1, adapter: 'fake', ms: 1 },
      reason: null,
    });
    tab.server.step = 7;
    await tab.replica.catchUp(BUDGET);
    expect(tab.worker.types()).toEqual(['plan', 'resume', 'apply', 'apply']);
    expect(tab.source.downloads).toBe(0);
    expect(tab.source.agreedFrom[0]).toBe(4);
    expect(tab.worker.applied()).toEqual([5, 6]);
    expect(tab.view.current.resume).toMatchObject({ from: 'record', step: 5, momentumStep: 4 });
    expect(tab.replica).toMatchObject({ loaded: true, appliedStep: 7, checksum: afterStep(6) });
  });

  it('loads the checkpoint when the record does not follow the agreed round', async () => {
    const tab = makeTab();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    tab.source.rounds = [0, 1].map((s) => agreedRound(s));
    tab.worker.handlers.resume = () => ({
      type: 'resumed',
      resumed: { step: 2, checksum: sum(0xbad), prevChecksum: sum(0xbad0), lastHashes: tab.source.rounds[1].hashes, momentumStep: 1, parameters: 1, adapter: 'fake', ms: 1 },
      reason: null,
    });
    tab.server.step = 2;
    await tab.replica.catchUp(BUDGET);
    expect(tab.worker.types()).toEqual(['plan', 'resume', 'load', 'apply', 'apply']);
    expect(tab.source.downloads).toBe(1);
    expect(tab.view.current.resume.from).toBe('checkpoint');
    expect(warn.mock.calls[0][0]).toMatch(/not resuming from this tab's stored state of step 2: round 1 was agreed from checksum/);
  });

  it('never tries the resume record again: a resync downloads the checkpoint', async () => {
    const tab = makeTab();
    vi.spyOn(console, 'info').mockImplementation(() => {});
    tab.source.rounds = [agreedRound(0)];
    const r0 = tab.source.rounds[0];
    tab.worker.handlers.resume = () => ({
      type: 'resumed',
      resumed: { step: 1, checksum: afterStep(0), prevChecksum: r0.checksum, lastHashes: r0.hashes, momentumStep: 0, parameters: 1, adapter: 'fake', ms: 1 },
      reason: null,
    });
    tab.server.step = 1;
    await tab.replica.catchUp(BUDGET);
    expect(tab.view.current.resume.from).toBe('record');
    tab.replica.forget();
    expect(tab.replica.loaded).toBe(false);
    const before = tab.worker.calls.length;
    await tab.replica.catchUp(BUDGET);
    expect(tab.worker.types().slice(before)).toEqual(['plan', 'load', 'apply']);
    expect(tab.source.downloads).toBe(1);
    expect(tab.view.current.resume.from).toBe('checkpoint');
  });

  it('refuses a checkpoint that loads to another checksum than the coordinator\'s', async () => {
    const tab = makeTab();
    tab.worker.handlers.load = () => ({ type: 'loaded', checksum: sum(0xdead), parameters: 1, adapter: 'fake' });
    await expect(tab.replica.catchUp(BUDGET)).rejects.toThrow(`checkpoint of step 0 loads to checksum ${sum(0xdead)}, the coordinator says ${sum(0x1000)}`);
    expect(tab.replica.loaded).toBe(false);
    expect(tab.worker.applied()).toEqual([]);
  });

  it('never applies a round out of order', async () => {
    const tab = makeTab();
    tab.server.step = 0;
    await tab.replica.catchUp(BUDGET);
    await expect(tab.replica.apply(1, [], [], 0)).rejects.toThrow('applying step 1, but this tab is at step 0');
    expect(tab.worker.applied()).toEqual([]);
    await tab.replica.apply(0, [], [], 0);
    await expect(tab.replica.apply(0, [], [], 0)).rejects.toThrow('applying step 0, but this tab is at step 1');
    expect(tab.worker.applied()).toEqual([0]);
  });

  it('clears an error once an apply succeeds, and keeps a bounded history of applied rounds', async () => {
    const tab = makeTab();
    tab.server.step = 0;
    await tab.replica.catchUp(BUDGET);
    tab.view.update({ status: 'error', error: 'payload missing' });
    for (let s = 0; s < 1001; s++) await tab.replica.apply(s, [], [], 0);
    expect(tab.view.current).toMatchObject({ status: 'training', error: null });
    expect(tab.view.current.applied).toHaveLength(1000);
    expect(tab.view.current.applied[0].step).toBe(1);
  });
});

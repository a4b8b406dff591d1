import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PRESETS } from '../model/config';
import { RunWorkerLink } from '../run-client/worker-link';
import { DEFAULT_DEMO } from '../train/demo-trainer';
import type { FromRunWorker } from '../train/run-worker-protocol';
import { InProcessWorker } from './in-process-worker';

const RUN = '0123456789abcdef0123456789abcdef';

/** A worker with no GPU, no resume store and no chunk cache; counts its GPU attempts. */
function makeWorker() {
  const gpuTries = { n: 0 };
  const worker = new InProcessWorker({
    createGpu: () => {
      gpuTries.n++;
      return Promise.reject(new Error('no gpu here'));
    },
    openRecordStore: () => Promise.reject(new Error('none')),
    openChunkCache: () => Promise.reject(new Error('none')),
    appBaseUrl: 'http://127.0.0.1:1/',
  });
  return { worker, gpuTries };
}

const planRequest = () => ({
  type: 'plan' as const,
  model: PRESETS.tiny,
  seqLen: 16,
  optimizer: { ...DEFAULT_DEMO },
  maxSequences: 8,
  budget: 2 ** 30,
});

/** Collects what a worker answers when no link owns it. */
function collect(worker: InProcessWorker): FromRunWorker[] {
  const got: FromRunWorker[] = [];
  worker.onmessage = (ev) => got.push(ev.data as FromRunWorker);
  return got;
}

/** Resolves once `cond` holds, checking on each turn of the event loop (fails the test after many turns). */
async function until(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('condition never held');
}

/** A few turns of the event loop: enough for a message in and its answer out. */
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

beforeEach(() => {
  // The worker logs what it rejects and the errors it answers with.
  vi.spyOn(console, 'error').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('InProcessWorker behind RunWorkerLink', () => {
  it('answers a plan with the GPU’s failure, and tries the GPU again next time', async () => {
    const { worker, gpuTries } = makeWorker();
    const link = new RunWorkerLink(worker);
    await expect(link.request<'plan'>(planRequest())).rejects.toThrow('no gpu here');
    expect(gpuTries.n).toBe(1);
    await expect(link.request<'plan'>(planRequest())).rejects.toThrow('no gpu here');
    expect(gpuTries.n).toBe(2);
    link.terminate();
  });

  it('refuses an export before anything is loaded', async () => {
    const { worker, gpuTries } = makeWorker();
    const link = new RunWorkerLink(worker);
    await expect(link.request<'export'>({ type: 'export' })).rejects.toThrow('no checkpoint loaded');
    await expect(link.request<'apply'>({ type: 'apply', step: 0, updates: [], hashes: [], lrBits: 0, weightDecay: 0 })).rejects.toThrow('no checkpoint loaded');
    await expect(link.request<'train'>({ type: 'train', step: 0, start: 0, count: 1, lrBits: 0 })).rejects.toThrow('no checkpoint loaded');
    expect(gpuTries.n).toBe(0);
    link.terminate();
  });

  it('answers a malformed request with an error for its id', async () => {
    const { worker } = makeWorker();
    const link = new RunWorkerLink(worker);
    const bad = { type: 'plan', model: PRESETS.tiny } as unknown as Parameters<typeof link.request<'plan'>>[0];
    await expect(link.request<'plan'>(bad)).rejects.toThrow(/malformed/);
    // The link still works afterwards.
    await expect(link.request<'export'>({ type: 'export' })).rejects.toThrow('no checkpoint loaded');
    link.terminate();
  });

  it('rejects what is in flight when the link terminates the worker', async () => {
    const { worker } = makeWorker();
    const link = new RunWorkerLink(worker);
    const pending = link.request<'export'>({ type: 'export' });
    link.terminate();
    await expect(pending).rejects.toThrow('run worker terminated');
  });
});

describe('InProcessWorker as a port', () => {
  it('answers a message of an unknown type with an error for its id', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    worker.postMessage({ type: 'bogus', id: 7 }, []);
    await until(() => got.length > 0);
    expect(got).toHaveLength(1);
    expect(got[0].type).toBe('error');
    expect(got[0].id).toBe(7);
    expect(got[0].type === 'error' && got[0].message).toMatch(/malformed/);
  });

  it('answers a malformed message without an id with an error for no request', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    worker.postMessage({ type: 'bogus' }, []);
    worker.postMessage('not even an object', []);
    worker.postMessage(null, []);
    await until(() => got.length === 3);
    expect(got.map((m) => [m.type, m.id])).toEqual([
      ['error', null],
      ['error', null],
      ['error', null],
    ]);
  });

  it('answers on a later turn, never inside postMessage', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    worker.postMessage({ type: 'bogus', id: 1 }, []);
    // Like a real worker, the answer comes on a later turn, never during postMessage.
    expect(got).toHaveLength(0);
    await until(() => got.length === 1);
  });

  it('answers requests one at a time, in the order sent', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    worker.postMessage({ ...planRequest(), id: 1 }, []);
    worker.postMessage({ type: 'export', id: 2 }, []);
    worker.postMessage({ ...planRequest(), id: 3 }, []);
    worker.postMessage({ type: 'export', id: 4 }, []);
    await until(() => got.length === 4);
    expect(got.map((m) => m.id)).toEqual([1, 2, 3, 4]);
    expect(got.map((m) => (m.type === 'error' ? m.message : m.type))).toEqual(['no gpu here', expect.stringMatching(/no checkpoint loaded/), 'no gpu here', expect.stringMatching(/no checkpoint loaded/)]);
  });

  it('takes a copy of the message: changing it after postMessage changes nothing', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    // Valid when posted, made invalid right after: the worker sees the valid one.
    const valid: Record<string, unknown> = { ...planRequest(), id: 5 };
    worker.postMessage(valid, []);
    valid.type = 'bogus';
    valid.seqLen = -1;
    // Invalid when posted, made valid right after: the worker sees the invalid one.
    const invalid: Record<string, unknown> = { type: 'export', id: 6, extra: true };
    worker.postMessage(invalid, []);
    delete invalid.extra;
    await until(() => got.length === 2);
    const byId = new Map(got.map((m) => [m.id, m]));
    const five = byId.get(5);
    const six = byId.get(6);
    expect(five?.type === 'error' && five.message).toBe('no gpu here');
    expect(six?.type === 'error' && six.message).toMatch(/malformed/);
  });

  it('moves transferred buffers as postMessage does, and copies the rest', async () => {
    const { worker, gpuTries } = makeWorker();
    const got = collect(worker);
    const moved = new Uint8Array([1, 2, 3, 4]);
    worker.postMessage(
      {
        type: 'load',
        id: 9,
        model: PRESETS.tiny,
        dataset: 'tiny-shakespeare',
        seqLen: 16,
        optimizer: { ...DEFAULT_DEMO },
        runId: RUN,
        microBatch: 1,
        checkpoint: moved,
        step: 0,
      },
      [moved.buffer],
    );
    // The sender's buffer is detached at once.
    expect(moved.byteLength).toBe(0);
    await until(() => got.length === 1);
    expect(got[0].id).toBe(9);
    expect(got[0].type === 'error' && got[0].message).toBe('no gpu here');
    expect(gpuTries.n).toBe(1);

    // Without a transfer list the sender keeps its bytes.
    const kept = new Uint8Array([5, 6, 7]);
    worker.postMessage({ type: 'bogus', id: 10, kept }, []);
    expect(Array.from(kept)).toEqual([5, 6, 7]);
    await until(() => got.length === 2);
  });

  it('sends nothing after terminate, even for messages posted before it', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    // A control worker, given the same messages, shows when the answers would have come.
    const { worker: control } = makeWorker();
    const controlGot = collect(control);

    worker.postMessage({ type: 'bogus', id: 7 }, []);
    control.postMessage({ type: 'bogus', id: 7 }, []);
    worker.postMessage({ ...planRequest(), id: 8 }, []);
    control.postMessage({ ...planRequest(), id: 8 }, []);
    worker.terminate();
    await until(() => controlGot.length === 2);
    await settle();
    expect(got).toEqual([]);

    // Messages posted after terminate are dropped too.
    worker.postMessage({ type: 'bogus', id: 11 }, []);
    worker.postMessage({ type: 'export', id: 12 }, []);
    await settle();
    expect(got).toEqual([]);
  });

  it('drops an answer already on its way when terminated', async () => {
    const { worker } = makeWorker();
    const got = collect(worker);
    worker.postMessage({ type: 'bogus', id: 7 }, []);
    // One turn: the worker has received the message and queued its answer, not yet delivered it.
    await new Promise((r) => setImmediate(r));
    worker.terminate();
    await settle();
    expect(got).toEqual([]);
  });
});

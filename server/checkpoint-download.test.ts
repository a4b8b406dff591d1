/** The compressed-checkpoint cache: once per checkpoint, off the event loop, a new ETag for a new checkpoint. */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createRunState } from '../src/run/state-machine';
import { CheckpointDownloads } from './checkpoint-download';
import { Store } from './store';
import { serverTestConfig } from './test-helpers';

/** Bytes that compress, like a checkpoint's floats do a little. */
function pseudoModel(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * seed) >> 3) & 0xff;
  return out;
}

function storeWith(bytes: Uint8Array): Store {
  const config = serverTestConfig();
  const store = Store.open(':memory:');
  store.createRun(config, createRunState(config, 0), { epoch: 0, step: 0, checksum: '00000000000000aa', bytes }, 0);
  return store;
}

describe('CheckpointDownloads', () => {
  it('compresses a checkpoint once, shared by every request, while the event loop keeps turning', async () => {
    const bytes = pseudoModel(4 << 20, 7);
    const downloads = new CheckpointDownloads(storeWith(bytes));
    let turned = false;
    setImmediate(() => (turned = true));
    const first = downloads.latest()!;
    expect(downloads.latest()).toBe(first);
    const c = await first;
    expect(turned).toBe(true);
    expect(gunzipSync(c.gz).equals(bytes)).toBe(true);
    expect(c).toMatchObject({ epoch: 0, step: 0, checksum: '00000000000000aa', size: bytes.byteLength });
    expect(downloads.latest()).toBe(first);
  });

  it('serves a new checkpoint under a new ETag, and none before the first', async () => {
    const store = storeWith(pseudoModel(4096, 3));
    const downloads = new CheckpointDownloads(store);
    const before = await downloads.latest()!;
    store.putCheckpoint({ epoch: 1, step: 5, checksum: '00000000000000bb', bytes: pseudoModel(4096, 5) }, 1);
    const after = await downloads.latest()!;
    expect(after).toMatchObject({ epoch: 1, step: 5, checksum: '00000000000000bb' });
    expect(after.etag).not.toBe(before.etag);
    expect(new CheckpointDownloads(Store.open(':memory:')).latest()).toBeNull();
  });
});

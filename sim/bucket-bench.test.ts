/**
 * A short bucket-mode simulation end to end: the real coordinator process
 * with --bucket, s3rver in its own process, three sims that upload and read
 * through presigned URLs. No payload byte may cross the coordinator except
 * its own reads of the bucket, and the partial mesh's figures must respect
 * the run's degree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from './bench';

const workDir = mkdtempSync(join(tmpdir(), 'tessera-sim-bucket-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('runBench with a bucket', () => {
  it('moves every payload through the bucket, none through the coordinator', async () => {
    const clients = 3;
    const r = await runBench({
      payload: 'tinyDemo',
      store: 'bucket',
      clients,
      rounds: 2,
      warmup: 0,
      budgetS: 150,
      seqsPerClient: 1,
      trainTimeoutMs: 30_000,
      witnessTimeoutMs: 30_000,
      relayTimeoutMs: 10_000,
      tickMs: 100,
      maxRssBytes: 4 * 2 ** 30,
      workDir,
      profile: false,
      log: () => {},
    });
    expect(r.reason).toBeNull();
    expect(r.problems.first).toEqual([]);
    expect(r.measuredRounds).toBe(2);
    expect(r.rounds.every((x) => x.agreed === clients && x.relayTimeouts === 0)).toBe(true);

    const p = r.payloadsPerRound!;
    expect([p.relayBytesIn, p.relayBytesOut]).toEqual([0, 0]);
    // The coordinator's one read of each upload, and one URL per upload and per reader of each payload.
    expect(p.bucketBytesRead).toBe(clients * r.payloadBytes);
    expect(p.uploadUrls).toBe(clients);
    expect(p.downloadUrls).toBe(clients * (clients - 1));

    const t = r.perClientPerRound!;
    expect([t.binIn, t.binOut]).toEqual([0, 0]);
    expect([t.storePut, t.storePutBytes]).toEqual([1, r.payloadBytes]);
    expect([t.storeGet, t.storeGetBytes]).toEqual([clients - 1, (clients - 1) * r.payloadBytes]);

    const mesh = r.connections.mesh!;
    expect(mesh.degree).toBe(8);
    expect(mesh.maxLinks).toBeLessThanOrEqual(mesh.degree);
    expect(mesh.maxLinks).toBe(clients - 1);
    expect(mesh.hops).toBe(1);
  }, 180_000);
});

/**
 * A run whose dataset is a URL: the config canonicalizes it, and the loader
 * opens the manifest and reads shard ranges from a real HTTP server on
 * loopback (the coordinator's file serving, byte ranges by server/range.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFile, sendFile } from '../../server/static-files';
import { parseRunConfig } from '../run/run-config';
import { datasetBaseUrl } from './dataset-ref';
import { openShardLoader } from './loader';
import { buildDataset } from './stream-build';
import type { Tokenizer } from './tokenizers';

/** Token at position p is p mod 251, so every read is checkable by arithmetic. */
const positions: Tokenizer = {
  name: 'byte',
  vocabSize: 256,
  eotToken: null,
  encode: () => Array.from({ length: 5000 }, (_, i) => i % 251),
  decode: () => '',
  safeCut: () => 0,
};

const ranges: string[] = [];
let server: Server;
let origin: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-url-data-'));
  const { manifest, files } = await buildDataset([{ path: 'p.txt', text: '' }], positions, {
    name: 'pos',
    source: { description: 'positions', license: 'CC0' },
    seqLen: 15,
    blockSequences: 4,
    valFraction: 0,
  });
  mkdirSync(join(dir, 'sets', 'pos'), { recursive: true });
  writeFileSync(join(dir, 'sets', 'pos', 'manifest.json'), JSON.stringify(manifest));
  for (const [name, bytes] of files) writeFileSync(join(dir, 'sets', 'pos', name), bytes);
  server = createServer((req, res) => {
    if (req.headers.range !== undefined) ranges.push(req.headers.range);
    void findFile(dir, new URL(req.url ?? '/', 'http://x').pathname).then((file) => {
      if (file === null) res.writeHead(404).end();
      else return sendFile(req, res, file, true);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

describe('a dataset given by URL', () => {
  it('opens the manifest the config names and reads sequences with range requests', async () => {
    const { dataset } = parseRunConfig({ dataset: `${origin}/sets/pos/manifest.json` });
    expect(dataset).toBe(`${origin}/sets/pos`);
    // The app's own origin does not matter: every client opens the same folder.
    const baseUrl = datasetBaseUrl(dataset, 'https://app.example.org/');
    const loader = await openShardLoader({ baseUrl, chunkBytes: 256 });
    expect(loader.tokens).toBe(5000);
    const { inputIds, targets } = await loader.batchForRange(100, 3, 15);
    const expected = (seq: number, k: number) => (seq * 16 + k) % 251;
    expect(Array.from(inputIds.subarray(0, 15))).toEqual(Array.from({ length: 15 }, (_, k) => expected(100, k)));
    expect(Array.from(targets.subarray(30, 45))).toEqual(Array.from({ length: 15 }, (_, k) => expected(102, k + 1)));
    // Sequences 100..102 are uint16 bytes 3200..3295, inside the 256-byte chunk at 3072: one ranged request.
    expect(ranges).toEqual(['bytes=3072-3327']);
  });

  it('fails clearly when nothing is there', async () => {
    const loader = openShardLoader({ baseUrl: datasetBaseUrl(`${origin}/sets/missing`, 'http://app/') });
    await expect(loader).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/sets\/missing\/manifest\.json: expected HTTP 200, got 404/);
  });
});

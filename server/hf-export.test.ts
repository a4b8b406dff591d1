/** GET /api/checkpoint/latest/hf: the latest checkpoint as a tar of a Hugging Face folder, tokenizer from the run's dataset manifest. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataManifest, TokenizerName } from '../src/data/manifest';
import { exportCheckpoint } from '../src/model/checkpoint';
import { initParams } from '../src/model/init';
import { parseModelConfig, PRESETS } from '../src/model/config';
import { jsonOf, untar } from '../src/export/test-helpers';
import { createHttpServer } from './http';
import { memoryLogger } from './log';
import { Store } from './store';
import { serverTestConfig } from './test-helpers';
import { FakeClock, startTestServer, tempDir, type TestServer } from './test-server';

const HF_FILES = ['config.json', 'generation_config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json'];
const SHA = 'a'.repeat(64);

/** A valid manifest naming `tokenizer`; the shards are never read by the export. */
function manifest(name: string, tokenizer: TokenizerName): DataManifest {
  const gpt2 = tokenizer === 'gpt2';
  return {
    version: 1,
    name,
    tokenizer,
    vocabSize: gpt2 ? 50257 : 256,
    dtype: 'uint16',
    endianness: 'little',
    eotToken: gpt2 ? 50256 : null,
    splitSeqLen: 64,
    splitBlockSequences: 16,
    valFraction: 0.05,
    totalTokens: 30,
    splits: { train: { file: 'a.train.bin', tokens: 20, bytes: 40, sha256: SHA }, val: { file: 'a.val.bin', tokens: 10, bytes: 20, sha256: SHA } },
    source: { description: 'test', license: 'test' },
    inputs: [{ path: 'a.txt', bytes: 30, sha256: SHA }],
  };
}

function writeManifest(dataDir: string, folder: string, tokenizer: TokenizerName): void {
  mkdirSync(join(dataDir, folder), { recursive: true });
  writeFileSync(join(dataDir, folder, 'manifest.json'), JSON.stringify(manifest(folder, tokenizer)));
}

/** Bytewise equality (vitest's deep equality is slow on megabyte arrays). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

let tmp: { dir: string; cleanup: () => void };
const servers: TestServer[] = [];
const extra: Server[] = [];

beforeAll(() => {
  tmp = tempDir();
  writeManifest(join(tmp.dir, 'data'), 'tiny-byte', 'byte');
  writeManifest(join(tmp.dir, 'dist', 'data'), 'tiny-gpt2', 'gpt2');
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const s of extra) await new Promise((resolve) => s.close(resolve));
  tmp.cleanup();
});

async function serve(name: string, config: ReturnType<typeof serverTestConfig>): Promise<TestServer> {
  const server = await startTestServer({ dbPath: join(tmp.dir, `${name}.sqlite`), clock: new FakeClock(), config, dataDir: join(tmp.dir, 'data'), distDir: join(tmp.dir, 'dist') });
  servers.push(server);
  return server;
}

async function listen(server: Server): Promise<string> {
  extra.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function download(server: TestServer): Promise<{ res: Response; files: Map<string, Uint8Array> }> {
  const res = await fetch(`${server.url}/api/checkpoint/latest/hf`);
  expect(res.status, await res.clone().text().then((t) => t.slice(0, 300))).toBe(200);
  const entries = await untar(new Uint8Array(await res.arrayBuffer()));
  const step = server.store.latestCheckpoint()!.step;
  const folder = `tessera-step-${step}/`;
  expect([...entries.keys()].sort()).toEqual([folder, ...HF_FILES.map((f) => folder + f)].sort());
  expect(entries.get(folder)!.type).toBe('directory');
  return { res, files: new Map([...entries].filter(([, e]) => e.type === 'file').map(([path, e]) => [path.slice(folder.length), e.bytes])) };
}

describe('GET /api/checkpoint/latest/hf', () => {
  it('404s while the store holds no checkpoint', async () => {
    const server = await serve('empty', serverTestConfig({ dataset: 'tiny-byte' }));
    // A coordinator always builds its epoch-0 checkpoint, so only a bare store has none.
    const store = Store.open(':memory:');
    const bare = createHttpServer({ coordinator: server.coordinator, store, distDir: '/nonexistent', dataDir: join(tmp.dir, 'data'), log: memoryLogger() });
    const res = await fetch(`${await listen(bare)}/api/checkpoint/latest/hf`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not-found', message: expect.stringMatching(/no checkpoint/) });
    store.close();
  });

  it('sends a tar of one folder whose model.safetensors is the stored checkpoint, with the byte tokenizer the manifest names', async () => {
    const server = await serve('byte', serverTestConfig({ dataset: 'tiny-byte' }));
    const { res, files } = await download(server);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="tessera-step-0.tar"');
    const stored = server.store.latestCheckpoint()!;
    expect(res.headers.get('x-tessera-checksum')).toBe(stored.checksum);
    expect(sameBytes(files.get('model.safetensors')!, stored.bytes)).toBe(true);
    expect(Object.keys(jsonOf(files, 'vocab.json'))).toHaveLength(256);
    expect(jsonOf(files, 'config.json')).toMatchObject({ model_type: 'deepseek_v3', vocab_size: 256, eos_token_id: null });
  });

  it('serves a newer checkpoint under its step, and answers HEAD with the headers only', async () => {
    const server = await serve('newer', serverTestConfig({ dataset: 'tiny-byte' }));
    const bytes = exportCheckpoint(PRESETS.tiny, initParams(PRESETS.tiny, 77)).safetensors;
    server.store.putCheckpoint({ epoch: 1, step: 12, checksum: '00000000000000cc', bytes }, 1);
    const { res, files } = await download(server);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="tessera-step-12.tar"');
    expect(sameBytes(files.get('model.safetensors')!, bytes)).toBe(true);
    const head = await fetch(`${server.url}/api/checkpoint/latest/hf`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(res.headers.get('content-length'));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("takes GPT-2's tokenizer from a shipped manifest found in the built app's data/", async () => {
    const model = parseModelConfig({ ...PRESETS.tiny, vocab_size: 50257 });
    const server = await serve('gpt2', serverTestConfig({ dataset: 'tiny-gpt2', model }));
    const { files } = await download(server);
    expect(Object.keys(jsonOf(files, 'vocab.json'))).toHaveLength(50257);
    expect(jsonOf(files, 'tokenizer_config.json')).toMatchObject({ tokenizer_class: 'GPT2Tokenizer', eos_token: '<|endoftext|>' });
    expect(jsonOf(files, 'generation_config.json')).toMatchObject({ eos_token_id: 50256 });
  });

  it('reads the manifest of a dataset given by URL', async () => {
    const host = createServer((req, res) => {
      if (req.url !== '/sets/remote/manifest.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(manifest('remote', 'byte')));
    });
    const server = await serve('url', serverTestConfig({ dataset: `${await listen(host)}/sets/remote` }));
    const { files } = await download(server);
    expect(Object.keys(jsonOf(files, 'vocab.json'))).toHaveLength(256);
  });

  it('answers 503 when the manifest cannot be read, and 400 to any query', async () => {
    const server = await serve('missing', serverTestConfig({ dataset: 'no-such-set' }));
    const res = await fetch(`${server.url}/api/checkpoint/latest/hf`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'dataset-unavailable', message: expect.stringMatching(/no-such-set/) });
    expect((await fetch(`${server.url}/api/checkpoint/latest/hf?format=zip`)).status).toBe(400);
  });
});

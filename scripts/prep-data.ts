/**
 * Text files → flat token shards + manifest.json (logic lives in src/data).
 *
 *   npx vite-node scripts/prep-data.ts -- --input <file|dir> --out <dir> \
 *     --tokenizer byte|gpt2 [--seq-len 256] [--val-fraction 0.05] \
 *     [--block-sequences 16] [--name NAME] [--source TEXT --license TEXT]
 *
 * Inputs are *.txt or *.txt.gz files (a directory: its files in name order,
 * each one a document). Source and licence come from --source/--license, or
 * else from a sidecar JSON beside the input: <file minus .txt[.gz]>.source.json
 * for a file, source.json inside a directory.
 *
 * Files are read as streams and shards written as they grow
 * (src/data/stream-build.ts), so a corpus far larger than memory works; the
 * shards are written under *.partial names and renamed once complete.
 */
import { createReadStream, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { TOKENIZER_NAMES, parseSourceInfo, type SourceInfo, type TokenizerName } from '../src/data/manifest';
import type { ByteSink } from '../src/data/shard-stream';
import { buildDatasetStream, type TextSource } from '../src/data/stream-build';
import { utf8Text } from '../src/data/text-stream';
import { getTokenizer } from '../src/data/tokenizers';

const TEXT_FILE = /\.txt(\.gz)?$/;

interface Args {
  input: string;
  out: string;
  tokenizer: TokenizerName;
  seqLen: number;
  valFraction: number;
  blockSequences: number;
  name: string;
  source: SourceInfo;
}

function fail(message: string): never {
  console.error(`prep-data: ${message}`);
  process.exit(2);
}

function parseNumber(raw: string, flag: string, integer: boolean): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    fail(`--${flag} must be ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return n;
}

function inputFiles(input: string): string[] {
  if (!statSync(input).isDirectory()) return [input];
  const files = readdirSync(input)
    .filter((f) => TEXT_FILE.test(f))
    .sort()
    .map((f) => join(input, f));
  if (files.length === 0) fail(`no .txt or .txt.gz files in ${input}`);
  return files;
}

function sidecarPath(input: string): string {
  if (statSync(input).isDirectory()) return join(input, 'source.json');
  return join(dirname(input), `${basename(input).replace(TEXT_FILE, '')}.source.json`);
}

function readSource(input: string, source?: string, license?: string): SourceInfo {
  if (source !== undefined || license !== undefined) {
    if (source === undefined || license === undefined) fail('--source and --license go together');
    return parseSourceInfo({ description: source, license });
  }
  const path = sidecarPath(input);
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    fail(`no --source/--license given and no ${path}; every dataset must say where its text came from`);
  }
  return parseSourceInfo(JSON.parse(raw), path);
}

function defaultName(input: string): string {
  return basename(input).replace(TEXT_FILE, '').replace(/[^A-Za-z0-9_-]/g, '-');
}

function readArgs(argv: string[]): Args {
  const { values } = parseArgs({
    // vite-node strips a leading "--"; `npm run prep-data -- ...` may not.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      input: { type: 'string' },
      out: { type: 'string' },
      tokenizer: { type: 'string' },
      'seq-len': { type: 'string', default: '256' },
      'val-fraction': { type: 'string', default: '0.05' },
      'block-sequences': { type: 'string', default: '16' },
      name: { type: 'string' },
      source: { type: 'string' },
      license: { type: 'string' },
    },
    strict: true,
  });
  if (values.input === undefined || values.out === undefined) fail('--input and --out are required');
  const tokenizer = values.tokenizer;
  if (!TOKENIZER_NAMES.includes(tokenizer as TokenizerName)) {
    fail(`--tokenizer must be one of ${TOKENIZER_NAMES.join(', ')}, got "${tokenizer ?? ''}"`);
  }
  return {
    input: values.input,
    out: values.out,
    tokenizer: tokenizer as TokenizerName,
    seqLen: parseNumber(values['seq-len'], 'seq-len', true),
    valFraction: parseNumber(values['val-fraction'], 'val-fraction', false),
    blockSequences: parseNumber(values['block-sequences'], 'block-sequences', true),
    name: values.name ?? defaultName(values.input),
    source: readSource(values.input, values.source, values.license),
  };
}

/** A file's bytes, gunzipped when it ends in .gz; a read or gzip error names the file. */
async function* fileBytes(path: string): AsyncGenerator<Uint8Array> {
  const raw = createReadStream(path, { highWaterMark: 1 << 16 });
  // pipeline passes a read error on to the gunzip stream, which ends the loop below with it.
  const stream: Readable = path.endsWith('.gz') ? pipeline(raw, createGunzip(), () => undefined) : raw;
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

function* sources(files: string[]): Generator<TextSource> {
  // Paths relative to the cwd keep the manifest free of this machine's layout.
  for (const file of files) yield { path: relative(process.cwd(), file).split('\\').join('/'), text: utf8Text(fileBytes(file), file) };
}

/** A shard file written in order; each write waits for the disk, so nothing piles up in memory. */
async function fileSink(path: string): Promise<ByteSink> {
  const handle = await open(path, 'w');
  return {
    async write(bytes) {
      for (let at = 0; at < bytes.byteLength; ) at += (await handle.write(bytes, at)).bytesWritten;
    },
    close: () => handle.close(),
  };
}

async function main(): Promise<void> {
  const args = readArgs(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  const partials: string[] = [];
  const partial = async (file: string) => {
    const path = join(args.out, `${file}.partial`);
    partials.push(path);
    return fileSink(path);
  };
  let manifest;
  try {
    manifest = await buildDatasetStream(sources(inputFiles(args.input)), getTokenizer(args.tokenizer), args, partial);
  } catch (e) {
    await Promise.all(partials.map((p) => rm(p, { force: true })));
    throw e;
  }
  for (const path of partials) await rename(path, path.slice(0, -'.partial'.length));
  writeFileSync(join(args.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const { train, val } = manifest.splits;
  console.log(
    `${args.out}: ${manifest.tokenizer} vocab ${manifest.vocabSize} ${manifest.dtype}; ` +
      `train ${train.tokens} tokens (${train.bytes} B), val ${val.tokens} tokens (${val.bytes} B)`,
  );
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));

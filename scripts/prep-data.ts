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
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { TOKENIZER_NAMES, parseSourceInfo, type SourceInfo, type TokenizerName } from '../src/data/manifest';
import { buildDataset, type TextDocument } from '../src/data/shards';
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

function readDocument(path: string): TextDocument {
  const raw = readFileSync(path);
  const bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  // fatal: a mis-encoded file should stop the build, not become U+FFFD tokens.
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  // Paths relative to the cwd keep the manifest free of this machine's layout.
  return { path: relative(process.cwd(), path).split('\\').join('/'), text };
}

async function main(): Promise<void> {
  const args = readArgs(process.argv.slice(2));
  const docs = inputFiles(args.input).map(readDocument);
  const { manifest, files } = await buildDataset(docs, getTokenizer(args.tokenizer), args);
  mkdirSync(args.out, { recursive: true });
  for (const [file, bytes] of files) writeFileSync(join(args.out, file), bytes);
  writeFileSync(join(args.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const { train, val } = manifest.splits;
  console.log(
    `${args.out}: ${manifest.tokenizer} vocab ${manifest.vocabSize} ${manifest.dtype}; ` +
      `train ${train.tokens} tokens (${train.bytes} B), val ${val.tokens} tokens (${val.bytes} B)`,
  );
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));

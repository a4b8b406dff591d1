/** Helpers shared by the export tests (not used by the app). */
import { Tokenizer } from '@huggingface/tokenizers';
import { extract } from 'tar-stream';

const decoder = new TextDecoder();

/** A JSON file of the folder, typed as the test expects it (unchecked). */
export function jsonOf<T = Record<string, unknown>>(files: Map<string, Uint8Array>, name: string): T {
  const bytes = files.get(name);
  if (bytes === undefined) throw new Error(`no ${name} among ${[...files.keys()].join(', ')}`);
  return JSON.parse(decoder.decode(bytes)) as T;
}

/**
 * The exported tokenizer as Hugging Face's own JS implementation
 * (@huggingface/tokenizers) reads it: an independent check of the files,
 * built from the in-memory JSON with no network.
 */
export function hfTokenizer(files: Map<string, Uint8Array>): Tokenizer {
  return new Tokenizer(jsonOf(files, 'tokenizer.json'), jsonOf(files, 'tokenizer_config.json'));
}

/** HF ids without special tokens added (a ByteLevel post-processor adds none anyway). */
export function hfEncode(tok: Tokenizer, text: string): number[] {
  return tok.encode(text, { add_special_tokens: false }).ids;
}

/** That library refuses to decode an empty list; transformers gives "". */
export function hfDecode(tok: Tokenizer, ids: number[]): string {
  return ids.length === 0 ? '' : tok.decode(ids);
}

/** Texts every exported tokenizer must encode exactly as the app does. */
export const TEST_TEXTS = [
  '',
  'Hello, world!',
  'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.',
  "it's we'll I'M don't they've",
  '  leading spaces, trailing spaces   ',
  'line one\nline two\n\n\tindented\r\nwindows\n',
  'x   y \u00a0z',
  'punctuation: !?.,;:-—–…"\'()[]{}<>/\\|@#$%^&*_+=~`',
  '1234567 89.01 3,141',
  'Café naïve façade — Ångström, e\u0301 (combining)',
  '日本語のテキスト、中文文本，한국어',
  'emoji: 😀👍🏽 👨‍👩‍👧 🇫🇷',
  '\u0000\u0001\u007f control bytes',
];

export interface TarEntry {
  type: string;
  bytes: Uint8Array;
}

/** Every entry of a tar archive, by path, in archive order. */
export async function untar(archive: Uint8Array): Promise<Map<string, TarEntry>> {
  const out = new Map<string, TarEntry>();
  const reader = extract();
  const done = (async () => {
    for await (const entry of reader) {
      const chunks: Uint8Array[] = [];
      for await (const c of entry) chunks.push(c as Uint8Array);
      out.set(entry.header.name, { type: entry.header.type, bytes: new Uint8Array(Buffer.concat(chunks)) });
    }
  })();
  reader.end(archive);
  await done;
  return out;
}

/**
 * The headless client's command line (`npm run client -- --help`), parsed
 * with node:util and checked with zod: a bad flag stops the client with a
 * message naming it, before anything starts.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_GPU_MEMORY } from '../run-client/run-client';

export const USAGE = `Usage: npm run client -- --coordinator URL [options]

Trains in a Tessera run on this machine's GPU, without a browser.

  --coordinator URL    the coordinator's address, e.g. http://host:8080
  --state DIR          where the key, the resume record and the data cache live (default ~/.tessera)
  --key FILE           the identity key file (default DIR/key.json; made on first use, mode 0600)
  --adapter NAME       use the GPU adapter whose name contains NAME (see --list-adapters)
  --list-adapters      print the GPU adapters found, then exit
  --gpu-memory SIZE    GPU memory the client may use: bytes, or with K, M or G (default ${DEFAULT_GPU_MEMORY / 2 ** 30}G)
  --json               one JSON line per change instead of the live display (the default when not on a terminal)
  --help               this text

Ctrl-C (or SIGTERM) leaves the run once the round in flight is applied; a second one exits at once.`;

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export interface ClientArgs {
  /** The coordinator's origin (http(s)://host:port); null only with --list-adapters or --help. */
  coordinator: string | null;
  stateDir: string;
  keyFile: string;
  adapter: string | null;
  listAdapters: boolean;
  gpuMemory: number;
  json: boolean;
  help: boolean;
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

const sizeSchema = z.string().transform((raw, ctx) => {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmg]?)(?:i?b)?$/i.exec(raw.trim());
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]) : NaN;
  if (!(bytes >= 1 && Number.isSafeInteger(bytes))) {
    ctx.addIssue({ code: 'custom', message: `--gpu-memory "${raw}" is not a size such as 8G, 512M or 2147483648` });
    return z.NEVER;
  }
  return bytes;
});

const originSchema = z.string().transform((raw, ctx) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: `--coordinator "${raw}" is not a URL such as http://host:8080` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `--coordinator must be an http:// or https:// URL, got ${url.protocol}` });
    return z.NEVER;
  }
  return url.origin;
});

export function parseClientArgs(argv: string[], home = homedir()): ClientArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        coordinator: { type: 'string' },
        state: { type: 'string' },
        key: { type: 'string' },
        adapter: { type: 'string' },
        'list-adapters': { type: 'boolean' },
        'gpu-memory': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new ArgsError((err as Error).message);
  }
  const help = values.help === true;
  const listAdapters = values['list-adapters'] === true;
  if (values.coordinator === undefined && !help && !listAdapters) throw new ArgsError('--coordinator URL is required');
  const coordinator = values.coordinator === undefined ? null : check(originSchema, values.coordinator);
  const gpuMemory = values['gpu-memory'] === undefined ? DEFAULT_GPU_MEMORY : check(sizeSchema, values['gpu-memory']);
  if (values.adapter === '') throw new ArgsError('--adapter needs a name (see --list-adapters)');
  const stateDir = resolve(typeof values.state === 'string' ? values.state : join(home, '.tessera'));
  return {
    coordinator,
    stateDir,
    keyFile: resolve(typeof values.key === 'string' ? values.key : join(stateDir, 'key.json')),
    adapter: typeof values.adapter === 'string' ? values.adapter : null,
    listAdapters,
    gpuMemory,
    json: values.json === true,
    help,
  };
}

function check<T>(schema: z.ZodType<T, string>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ArgsError(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

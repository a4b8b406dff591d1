/**
 * GET /api/checkpoint/latest/hf: the latest checkpoint as a Hugging Face
 * model folder in a tar archive (src/export/hf-folder.ts), so that
 * `tar xf tessera-step-N.tar` gives a directory that transformers'
 * from_pretrained loads, model and tokenizer. The tokenizer is the one the
 * run's dataset manifest names: the model only knows token ids.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { isDatasetUrl } from '../src/data/dataset-ref';
import { fetchManifest } from '../src/data/loader';
import { parseManifest, type TokenizerName } from '../src/data/manifest';
import { hfFolder } from '../src/export/hf-folder';
import { tarFolder } from '../src/export/tar';
import { HttpError, type ApiContext } from './api';
import type { HttpOptions } from './http';

/** The HTTP server passes its whole options; the data folders say where a shipped dataset's manifest is. */
export type HfExportContext = ApiContext & Partial<Pick<HttpOptions, 'dataDir' | 'distDir'>>;

const MANIFEST_TIMEOUT_MS = 10_000;

export async function sendHfExport(ctx: HfExportContext, res: ServerResponse, head: boolean): Promise<void> {
  const c = ctx.store.latestCheckpoint();
  if (c === null) throw new HttpError(404, 'not-found', 'no checkpoint has been built yet');
  const tokenizer = await runTokenizer(ctx);
  const folder = `tessera-step-${c.step}`;
  const tar = await tarFolder(folder, hfFolder(c.bytes, tokenizer));
  res.writeHead(200, {
    'Content-Type': 'application/x-tar',
    'Content-Length': tar.length,
    'Content-Disposition': `attachment; filename="${folder}.tar"`,
    'Cache-Control': 'no-store',
    'X-Tessera-Epoch': String(c.epoch),
    'X-Tessera-Step': String(c.step),
    'X-Tessera-Checksum': c.checksum,
  });
  res.end(head ? undefined : tar);
}

async function runTokenizer(ctx: HfExportContext): Promise<TokenizerName> {
  const dataset = ctx.coordinator.config.dataset;
  try {
    const manifest = isDatasetUrl(dataset) ? await fetchManifest(dataset, timedFetch) : await shippedManifest(ctx, dataset);
    return manifest.tokenizer;
  } catch (e) {
    throw new HttpError(503, 'dataset-unavailable', `cannot read the manifest of dataset ${dataset} to learn its tokenizer: ${(e as Error).message}`);
  }
}

const timedFetch = (url: string, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(MANIFEST_TIMEOUT_MS) });

/**
 * A shipped dataset is what this server serves at /data/NAME (dataDir);
 * the built app carries a copy under dist/data/NAME for apps hosted elsewhere.
 */
async function shippedManifest(ctx: HfExportContext, name: string) {
  const folders = [ctx.dataDir, ctx.distDir === undefined ? undefined : join(ctx.distDir, 'data')];
  const candidates = folders.filter((d) => d !== undefined).map((d) => join(d, name, 'manifest.json'));
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text !== null) return parseManifest(JSON.parse(text), file);
  }
  throw new Error(candidates.length > 0 ? `no file ${candidates.join(' or ')}` : 'this server has no data folder');
}

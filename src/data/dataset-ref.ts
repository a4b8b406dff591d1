/**
 * Where a run's dataset lives: a shipped name (a folder the app serves under
 * data/) or the absolute http(s) URL of any dataset folder served with byte
 * ranges (the coordinator's /data/, a static host, a CDN). The run config
 * keeps the canonical form, so every client that gets the coordinator's
 * config opens the same manifest.
 */
import { z } from 'zod';

/** A folder under the app's data/; the form the shipped datasets and local runs use. */
export const SHIPPED_DATASET = /^[a-z0-9-]+$/;

export class DatasetRefError extends Error {
  override name = 'DatasetRefError';
}

const MANIFEST_FILE = /\/manifest\.json$/;

/**
 * The folder URL of a dataset given by URL: "…/set/" and "…/set/manifest.json"
 * both become "…/set", since the loader joins file names onto it. A query or
 * fragment would end up in the middle of every shard URL, and credentials in
 * a config sent to every client would leak, so each is refused.
 */
export function canonicalDatasetUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DatasetRefError(`"${raw.slice(0, 200)}" is neither a shipped dataset name (lowercase letters, digits and "-") nor an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DatasetRefError(`dataset URL must be http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username !== '' || url.password !== '') throw new DatasetRefError('dataset URL must not carry a user name or password: every client receives it');
  if (url.search !== '' || url.hash !== '') throw new DatasetRefError('dataset URL must not have a query or fragment: shard file names are joined onto it');
  const folder = url.pathname.replace(MANIFEST_FILE, '').replace(/\/+$/, '');
  return `${url.origin}${folder}`;
}

/** The config's `dataset` field: a shipped name as is, a URL in canonical form; the error says which rule failed. */
export const datasetSchema = z.string().transform((value, ctx) => {
  if (SHIPPED_DATASET.test(value)) return value;
  try {
    return canonicalDatasetUrl(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

export function isDatasetUrl(dataset: string): boolean {
  return !SHIPPED_DATASET.test(dataset);
}

/**
 * The folder URL the loader opens. `appBase` is the absolute URL the app is
 * served from (origin + Vite's BASE_URL); shipped names live under its data/.
 */
export function datasetBaseUrl(dataset: string, appBase: string): string {
  if (isDatasetUrl(dataset)) return canonicalDatasetUrl(dataset);
  return new URL(`data/${dataset}`, new URL(appBase)).href;
}

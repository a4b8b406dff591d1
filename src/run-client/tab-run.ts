/**
 * The one RunClient of this tab, made on first use: the Contribute page and
 * `tessera.run` share it, so a join from the console shows on the page.
 * The coordinator is the page's own origin (it serves the app), or the one
 * named by `?coordinator=http://host:port` when the app is served elsewhere
 * (the Vite dev server).
 */
import { loadIdentity } from './identity';
import { httpCatchUp } from './catch-up';
import { socketUrl } from './coordinator-socket';
import { DEFAULT_GPU_MEMORY, RunClient, type RunView } from './run-client';
import { RunWorkerLink } from './worker-link';

let client: Promise<RunClient> | null = null;

/** The volunteer's GPU memory setting (bytes), kept across reloads. */
const GPU_MEMORY_KEY = 'tessera.gpuMemory';

export function storedGpuMemory(): number {
  const n = Number(globalThis.localStorage?.getItem(GPU_MEMORY_KEY));
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_GPU_MEMORY;
}

/** Saves the setting; the tab's plan uses it from its next load (a rejoin). */
export async function setGpuMemory(bytes: number): Promise<void> {
  localStorage.setItem(GPU_MEMORY_KEY, String(bytes));
  (await tabRun()).setGpuMemory(bytes);
}

export function coordinatorOrigin(href = location.href): string {
  const named = new URL(href).searchParams.get('coordinator');
  return named ? new URL(named).origin : new URL(href).origin;
}

export function tabRun(): Promise<RunClient> {
  client ??= (async () => {
    const origin = coordinatorOrigin();
    const identity = await loadIdentity();
    return new RunClient({ socketUrl: socketUrl(origin), identity, worker: RunWorkerLink.spawn(), catchUp: httpCatchUp(origin), gpuMemory: storedGpuMemory() });
  })();
  return client;
}

/** `tessera.run` (docs/design.md §8). */
export const runApi = {
  async join(): Promise<void> {
    (await tabRun()).join();
  },
  async leave(): Promise<void> {
    (await tabRun()).leave();
  },
  /** {state, epoch, step, clientId, checksum, peers, points, lossHistory} and more, as this tab knows them. */
  async state(): Promise<RunView> {
    return (await tabRun()).state();
  },
};

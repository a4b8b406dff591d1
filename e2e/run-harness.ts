/**
 * The real run for browser tests: the app built once into its own folder, a
 * coordinator process (server/main.ts) on a free port with its own SQLite
 * file and a test config, and tabs in separate Chromium processes that click
 * Contribute and report what they know through `tessera.run.state()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { build } from 'vite';
import { freePort } from '../bench/serve';
import type { RunView } from '../src/run-client/run-client';
import type { RunConfigInput } from '../src/run/run-config';
import { chromiumLaunchOptions } from './chromium';

export const RUN_DIST = 'test-results/run-dist';

let built: Promise<void> | null = null;

/** The app, built once per test process. */
export function buildApp(): Promise<void> {
  built ??= build({ logLevel: 'warn', build: { outDir: RUN_DIST, emptyOutDir: true } }).then(() => undefined);
  return built;
}

export interface CoordinatorProcess {
  url: string;
  port: number;
  db: string;
  logs: string[];
  /** SIGKILL: no chance to clean up, as a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts server/main.ts; resolves once it logs "listening". `port` reuses one (a restart). */
export async function startCoordinator(dir: string, config: RunConfigInput | null, port?: number): Promise<CoordinatorProcess> {
  mkdirSync(dir, { recursive: true });
  const db = resolve(dir, 'run.sqlite');
  const args = ['vite-node', 'server/main.ts', '--', '--port', String(port ?? (await freePort())), '--db', db, '--dist', RUN_DIST, '--tick', '100'];
  if (config) {
    const path = resolve(dir, 'run.json');
    writeFileSync(path, JSON.stringify(config));
    args.push('--config', path);
  }
  // Its own process group: npx starts node under it, and a kill must reach that node too.
  const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const logs: string[] = [];
  // Also on disk beside its database, so a failed run's phases, verdicts and drops can be read afterwards.
  const logFile = resolve(dir, 'coordinator.log');
  const listening = new Promise<number>((ok, fail) => {
    const onLine = (line: string) => {
      logs.push(line);
      appendFileSync(logFile, line + '\n');
      if (line.includes('"listening"')) ok(JSON.parse(line).port as number);
    };
    let rest = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    child.stderr.on('data', (d: Buffer) => {
      logs.push(d.toString());
      appendFileSync(logFile, d.toString());
    });
    child.once('exit', (code) => fail(new Error(`coordinator exited with ${code}:\n${logs.join('\n')}`)));
  });
  const p = await listening;
  const ended = (c: ChildProcess) => new Promise<void>((ok) => (c.exitCode !== null || c.signalCode !== null ? ok() : c.once('exit', () => ok())));
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    db,
    logs,
    async kill() {
      signalGroup(child, 'SIGKILL');
      await ended(child);
    },
    async stop() {
      signalGroup(child, 'SIGTERM');
      await ended(child);
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

export function freshDir(name: string): string {
  const dir = resolve('test-results', name);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

export interface Tab {
  browser: Browser;
  page: Page;
  state(): Promise<RunView>;
  close(): Promise<void>;
}

/** A tab in its own Chromium process that has clicked Contribute; `prepare` runs on its context first. */
export async function openTab(url: string, name: string, prepare?: (context: BrowserContext) => Promise<void>): Promise<Tab> {
  const browser = await chromium.launch(chromiumLaunchOptions());
  const context = await browser.newContext();
  await prepare?.(context);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[${name}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e.message}`));
  await page.goto(`${url}/#/contribute`);
  // The button waits for the tab's key and client; the status then leaves 'idle'.
  await page.getByTestId('run-join').click();
  await expect(page.getByTestId('run-status')).not.toHaveAttribute('data-status', 'idle', { timeout: 60_000 });
  return {
    browser,
    page,
    state: () => page.evaluate(() => (globalThis as unknown as { tessera: { run: { state(): Promise<RunView> } } }).tessera.run.state()),
    close: () => browser.close(),
  };
}

/**
 * Waits until every tab has applied at least `step` rounds. A tab that stays
 * in error for 20 polls in a row fails the wait (a transient error, such as
 * a payload lost while the coordinator restarts, clears at the next round).
 */
export async function waitForStep<V extends Pick<RunView, 'status' | 'error' | 'appliedStep'>>(tabs: { state(): Promise<V> }[], step: number, timeoutMs: number): Promise<V[]> {
  const deadline = Date.now() + timeoutMs;
  const errorPolls = tabs.map(() => 0);
  for (;;) {
    const views = await Promise.all(tabs.map((t) => t.state()));
    views.forEach((v, i) => {
      errorPolls[i] = v.status === 'error' ? errorPolls[i] + 1 : 0;
      if (errorPolls[i] >= 20) throw new Error(`tab ${i} stays in error: ${v.error}`);
    });
    if (views.every((v) => v.appliedStep >= step)) return views;
    if (Date.now() > deadline) throw new Error(`tabs at steps ${views.map((v) => v.appliedStep).join(', ')} after ${timeoutMs} ms; wanted ${step}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Polls the coordinator until `pred` holds. */
export async function waitForStatus(url: string, pred: (s: Status) => boolean, timeoutMs: number): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(url).catch(() => null);
    if (s && pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`coordinator status never matched; last: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Status {
  state: string;
  epoch: number;
  step: number;
  clients: {
    id: string;
    state: string;
    points: number;
    standing: { probation: boolean; verifiedRounds: number; strikes: number; held: number; vested: number; forfeited: number };
  }[];
}

export async function status(url: string): Promise<Status> {
  const res = await fetch(`${url}/api/status`);
  return (await res.json()) as Status;
}

/** A small fast run for tests: tiny model, byte data, short timeouts. */
export function testConfig(overrides: Partial<RunConfigInput> = {}): RunConfigInput {
  return {
    model: 'tiny',
    dataset: 'austen-byte',
    seqLen: 32,
    warmupTime: 1000,
    cooldownTime: 1000,
    maxRoundTrainTime: 45_000,
    roundWitnessTime: 15_000,
    epochTime: 3_600_000,
    initMinClients: 3,
    minClients: 1,
    globalBatch: { start: 6, end: 6, warmupTokens: 0 },
    lr: { schedule: 'constant', peak: 1e-2, warmupSteps: 0 },
    optimizer: { weightDecay: 0 },
    // Verification on as in a real run (probation, the committee, strikes); points vest at once so
    // that tests can count them per round (vesting is covered tick by tick in src/run/verification.test.ts).
    verification: { vestingRounds: 0 },
    ...overrides,
  };
}

/**
 * The real coordinator (server/main.ts) as its own process on loopback, with
 * a fresh SQLite file and the simulation's run config, as
 * e2e/run-harness.ts starts it, except that node runs vite-node's CLI
 * directly (no npx in between), so the child's pid is the coordinator's own
 * and /proc/PID measures it alone.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { RunConfigInput } from '../src/run/run-config';

export interface CoordinatorProcess {
  pid: number;
  port: number;
  dir: string;
  url: string;
  /** Resolves with a description once the process has exited. */
  exited: Promise<string>;
  hasExited(): boolean;
  /** Log lines by event name ("phase", "frame-refused", …), and the last few lines. */
  logCounts: Record<string, number>;
  lastLines: string[];
  stop(): Promise<void>;
}

export function viteNodeCli(): string {
  const require = createRequire(import.meta.url);
  return resolve(dirname(require.resolve('vite-node/package.json')), 'dist/cli.mjs');
}

/** Where the coordinator keeps payloads: its relay, or a bucket given by its flags and its credentials' environment. */
export interface CoordinatorStore {
  args: string[];
  env: Record<string, string>;
}

/** `profile`: run node with --cpu-prof, writing the profile into `dir` at exit. */
export async function startCoordinator(dir: string, config: RunConfigInput, tickMs: number, profile = false, store: CoordinatorStore = { args: [], env: {} }): Promise<CoordinatorProcess> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = resolve(dir, 'run.sqlite');
  const configPath = resolve(dir, 'run.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const args = [...(profile ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', 'coordinator.cpuprofile'] : []), viteNodeCli(), 'server/main.ts', '--', '--host', '127.0.0.1', '--port', '0', '--db', db, '--config', configPath, '--dist', 'dist', '--tick', String(tickMs), ...store.args];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...store.env } });
  // The coordinator never outlives the driver, even when the driver dies of an error.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const logCounts: Record<string, number> = {};
  const lastLines: string[] = [];
  let exitedFlag = false;
  const exited = new Promise<string>((ok) =>
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      process.removeListener('exit', killOnExit);
      ok(`coordinator exited (code ${code}, signal ${signal})`);
    }),
  );
  const keep = (line: string) => {
    lastLines.push(line);
    if (lastLines.length > 40) lastLines.shift();
  };
  const port = await new Promise<number>((ok, fail) => {
    let rest = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        // `event` is the logger's last field, so the last match is the record's own.
        const at = line.lastIndexOf('"event":"');
        const event = at < 0 ? 'other' : line.slice(at + 9, line.indexOf('"', at + 9));
        logCounts[event] = (logCounts[event] ?? 0) + 1;
        if (event !== 'phase' && event !== 'round-started' && event !== 'client-authenticated' && event !== 'verdict' && event !== 'agreed') keep(line.slice(0, 600));
        if (line.includes('"listening"')) ok(JSON.parse(line).port as number);
      }
    });
    child.stderr.on('data', (d: Buffer) => keep(`stderr: ${d.toString().slice(0, 600)}`));
    void exited.then((why) => fail(new Error(`${why} before listening:\n${lastLines.join('\n')}`)));
  });
  return {
    pid: child.pid!,
    port,
    dir,
    url: `ws://127.0.0.1:${port}/ws`,
    exited,
    hasExited: () => exitedFlag,
    logCounts,
    lastLines,
    async stop() {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

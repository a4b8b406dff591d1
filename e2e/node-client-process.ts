/**
 * The headless client (`npm run client`) as a process in a run, the way an
 * operator starts it: its own state folder, `--json` lines on stdout, Dawn
 * on SwiftShader where no other Vulkan driver is named. Its view is built
 * from those lines (the last summary, and every round applied since it
 * started), so the run harness's waits read it like a tab's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ProgressLine } from '../src/node-client/progress';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const VITE_NODE = 'node_modules/vite-node/dist/cli.mjs';

export type NodeClientView = ProgressLine;

export interface NodeClient {
  name: string;
  /** The last summary, with every round applied since this process started. */
  state(): Promise<NodeClientView>;
  waitFor(pred: (v: NodeClientView) => boolean, timeoutMs: number): Promise<NodeClientView>;
  /** Sends a signal to the client (SIGINT or SIGTERM: leave after the round in flight; a second one exits at once). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGKILL to the whole process group: a crash, no chance to leave. */
  kill(): Promise<void>;
  logs: string[];
}

export async function startNodeClient(opts: { coordinator: string; stateDir: string; name: string; extraArgs?: string[] }): Promise<NodeClient> {
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER)) env.VK_ICD_FILENAMES = SWIFTSHADER;
  // What `npm run client` runs, started straight from node so that a signal reaches the client alone and its exit code is its own.
  const args = [VITE_NODE, 'src/node-client/main.ts', '--', '--coordinator', opts.coordinator, '--state', opts.stateDir, '--json', ...(opts.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  const logs: string[] = [];
  let view: NodeClientView | null = null;
  const applied: NodeClientView['applied'] = [];
  let rest = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as NodeClientView;
      applied.push(...parsed.applied);
      view = { ...parsed, applied: [...applied] };
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    logs.push(text);
    if (/error|warn|leav|left/i.test(text) && !/XDG_RUNTIME_DIR/.test(text)) console.log(`[${opts.name}] ${text.trimEnd()}`);
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const state = async () => {
    if (!view) throw new Error(`${opts.name} has reported nothing yet; its log:\n${logs.join('')}`);
    return view;
  };
  const client: NodeClient = {
    name: opts.name,
    state,
    async waitFor(pred, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (view && pred(view)) return view;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${opts.name} exited (${child.exitCode ?? child.signalCode}); its log:\n${logs.join('')}`);
        if (Date.now() > deadline) throw new Error(`${opts.name}: condition not met in ${timeoutMs} ms; last: ${JSON.stringify(view && { ...view, applied: view.applied.length })}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    signal(signal) {
      child.kill(signal);
    },
    exited,
    async kill() {
      signalGroup(child, 'SIGKILL');
      await exited;
    },
    logs,
  };
  await client.waitFor(() => true, 120_000);
  return client;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

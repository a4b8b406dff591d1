/**
 * The headless client (`npm run client -- --coordinator URL`): a GPU server
 * joins a run as a tab does, with the tab's own run client, run worker,
 * kernels and protocol. What a browser gives a tab, Node gets here: Dawn
 * for WebGPU, node-datachannel for WebRTC, `ws` for the socket (Node 20 has
 * no WebSocket), and files under the state folder for the key, the resume
 * record and the data cache.
 */
import { join } from 'node:path';
import WebSocket from 'ws';
import { httpCatchUp } from '../run-client/catch-up';
import { socketUrl } from '../run-client/coordinator-socket';
import { RunClient } from '../run-client/run-client';
import { RunWorkerLink } from '../run-client/worker-link';
import { ArgsError, parseClientArgs, USAGE, type ClientArgs } from './args';
import { showDisplay } from './display';
import { FileResumeStore } from './file-resume-store';
import { openFileChunkCache } from './file-chunk-cache';
import { InProcessWorker } from './in-process-worker';
import { KeyFileError, loadOrCreateKey } from './key-file';
import { createAdapterGpu, listAdapters } from './node-adapter';
import { createNodePeer } from './node-peer';
import { writeJsonLines } from './progress';

/** Signals this close together are one request to leave, not a second one to exit now. */
const SAME_SIGNAL_MS = 1000;

async function run(args: ClientArgs & { coordinator: string }): Promise<void> {
  const { key, created } = await loadOrCreateKey(args.keyFile);
  const clientId = Buffer.from(key.publicKey).toString('hex');
  console.error(`tessera client ${clientId}: ${created ? 'made a new key in' : 'key from'} ${args.keyFile}; state in ${args.stateDir}`);
  globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket;

  let adapter = '';
  const worker = new InProcessWorker({
    createGpu: async (onLost) => {
      const gpu = await createAdapterGpu(args.adapter, onLost);
      adapter = `${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`.trim();
      console.error(`tessera client: GPU adapter ${adapter}`);
      return gpu;
    },
    openRecordStore: () => FileResumeStore.open(join(args.stateDir, 'resume')),
    openChunkCache: () => openFileChunkCache(join(args.stateDir, 'data-cache')),
    appBaseUrl: `${args.coordinator}/`,
  });
  const client = new RunClient({
    socketUrl: socketUrl(args.coordinator),
    identity: key,
    worker: new RunWorkerLink(worker, (message) => console.error(`tessera client: the GPU worker failed: ${message}`)),
    catchUp: httpCatchUp(args.coordinator),
    gpuMemory: args.gpuMemory,
    createPeer: createNodePeer,
  });

  let leaving = false;
  let firstSignalAt = 0;
  const json = args.json || !process.stdout.isTTY;
  const stopReporting = json
    ? writeJsonLines(client, (line) => process.stdout.write(`${line}\n`))
    : showDisplay(client, () => ({ coordinator: args.coordinator, adapter, leaving }));

  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm run` reaches this process twice (from the terminal, and forwarded by npm): one press, one signal.
    if (leaving && Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
    if (leaving) {
      console.error(`tessera client: ${signal} again; exiting without waiting for the round`);
      process.exit(130);
    }
    leaving = true;
    firstSignalAt = Date.now();
    console.error(`tessera client: ${signal}; leaving the run once the round in flight is applied (send it again to exit now)`);
    void client.leaveAtRoundBoundary().then(() => {
      stopReporting();
      console.error('tessera client: left the run');
      // A moment for the socket's goodbye to go out.
      setTimeout(() => process.exit(0), 200);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  client.join();
}

async function main(): Promise<void> {
  let args: ClientArgs;
  try {
    args = parseClientArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    console.error(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.listAdapters) {
    const adapters = await listAdapters();
    console.log(adapters.length > 0 ? adapters.join('\n') : 'Dawn found no GPU adapter (is a Vulkan driver installed?)');
    process.exit(0);
  }
  await run({ ...args, coordinator: args.coordinator as string });
}

main().catch((err: unknown) => {
  console.error(err instanceof KeyFileError ? `tessera client: ${err.message}` : err);
  process.exit(1);
});

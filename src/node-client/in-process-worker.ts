/**
 * The run worker (src/train/run-worker-core.ts) in the headless client's own
 * process, behind the same port a tab's Web Worker gives RunWorkerLink. Each
 * message is structured-cloned on the way in and out, as postMessage does,
 * so neither side can change what the other holds, and both sides still
 * validate what they receive. Node has one thread here, but the GPU work is
 * asynchronous, so the socket and the mesh keep running while it trains.
 */
import { runWorkerCore, type RunWorkerEnv } from '../train/run-worker-core';
import type { WorkerPort } from '../run-client/worker-link';

export class InProcessWorker implements WorkerPort {
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  private terminated = false;
  private readonly receive: (data: unknown) => void;

  constructor(env: Omit<RunWorkerEnv, 'post'>) {
    this.receive = runWorkerCore({ ...env, post: (msg, transfer) => this.answer(msg, transfer) });
  }

  postMessage(message: unknown, transfer: Transferable[]): void {
    if (this.terminated) return;
    const copy = structuredClone(message, { transfer });
    setImmediate(() => {
      if (!this.terminated) this.receive(copy);
    });
  }

  terminate(): void {
    this.terminated = true;
  }

  private answer(msg: unknown, transfer: ArrayBuffer[]): void {
    if (this.terminated) return;
    const copy = structuredClone(msg, { transfer });
    setImmediate(() => {
      if (!this.terminated) this.onmessage?.({ data: copy } as MessageEvent);
    });
  }
}

/**
 * The page's end of the run worker: requests with ids, answered in order,
 * every answer validated (a worker is a boundary like any other).
 */
import { z } from 'zod';
import { FromRunWorkerSchema, type FromRunWorker, type RunWorkerRequest } from '../train/run-worker-protocol';

type Answer<T extends RunWorkerRequest['type']> = Extract<FromRunWorker, { type: { plan: 'planned'; load: 'loaded'; resume: 'resumed'; apply: 'applied'; train: 'trained'; verify: 'verified'; export: 'exported' }[T] }>;

interface Pending {
  resolve: (m: FromRunWorker) => void;
  reject: (e: Error) => void;
}

/** Distributive Omit, so each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What the link uses of a Worker: a tab's Web Worker, or the headless client's in-process one. */
export interface WorkerPort {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  terminate(): void;
}

export class RunWorkerLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly worker: WorkerPort,
    private readonly onFatal: (message: string) => void = () => {},
  ) {
    worker.onmessage = (ev) => this.receive(ev.data);
    worker.onerror = (ev) => this.failAll(`run worker crashed: ${ev.message}`);
  }

  static spawn(onFatal?: (message: string) => void): RunWorkerLink {
    const worker = new Worker(new URL('../train/run-worker.ts', import.meta.url), { type: 'module', name: 'tessera-run' });
    return new RunWorkerLink(worker, onFatal);
  }

  request<T extends RunWorkerRequest['type']>(msg: WithoutId<Extract<RunWorkerRequest, { type: T }>>, transfer: Transferable[] = []): Promise<Answer<T>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (m: FromRunWorker) => void, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  setDuty(duty: number): void {
    this.worker.postMessage({ type: 'duty', duty }, []);
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll('run worker terminated');
  }

  private receive(data: unknown): void {
    const parsed = FromRunWorkerSchema.safeParse(data);
    if (!parsed.success) {
      console.error(`run worker sent a malformed message: ${z.prettifyError(parsed.error)}`);
      return;
    }
    const msg = parsed.data;
    if (msg.id === null) {
      // Not an answer: the device was lost or similar; every request in flight is moot.
      this.onFatal(msg.type === 'error' ? msg.message : 'run worker failed');
      this.failAll(msg.type === 'error' ? msg.message : 'run worker failed');
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) {
      console.error(`run worker answered unknown request ${msg.id}`);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new Error(msg.message));
    else p.resolve(msg);
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
  }
}

/**
 * The page's end of the generation worker: one load, then generations that
 * stream their text through a callback; every answer is validated.
 */
import { z } from 'zod';
import { FromGenerateWorkerSchema, type BackendChoice, type FromGenerateWorker } from './generate-protocol';
import type { Sampling } from './sampling';

export type Loaded = Extract<FromGenerateWorker, { type: 'loaded' }>;
export type Done = Extract<FromGenerateWorker, { type: 'done' }>;
export type TextPiece = Extract<FromGenerateWorker, { type: 'text' }>;

interface Pending {
  resolve: (m: FromGenerateWorker) => void;
  reject: (e: Error) => void;
  onText?: (t: TextPiece) => void;
}

export class GeneratorLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (ev) => this.receive(ev.data);
    worker.onerror = (ev) => this.failAll(`generation worker crashed: ${ev.message}`);
  }

  static spawn(): GeneratorLink {
    return new GeneratorLink(new Worker(new URL('./generate-worker.ts', import.meta.url), { type: 'module', name: 'tessera-generate' }));
  }

  /** Moves the checkpoint's bytes to the worker (the caller's copy is emptied). */
  load(checkpoint: Uint8Array, backend: BackendChoice): Promise<Loaded> {
    const id = this.nextId++;
    const done = this.wait(id) as Promise<Loaded>;
    this.worker.postMessage({ type: 'load', id, checkpoint, backend }, [checkpoint.buffer as ArrayBuffer]);
    return done;
  }

  /** Starts a generation; `onText` gets each piece. Returns its id (for stop) and its end. */
  generate(req: { prompt: string; sampling: Sampling; maxTokens: number; seed: number }, onText: (t: TextPiece) => void): { id: number; done: Promise<Done> } {
    const id = this.nextId++;
    const done = this.wait(id, onText) as Promise<Done>;
    this.worker.postMessage({ type: 'generate', id, ...req });
    return { id, done };
  }

  stop(id: number): void {
    this.worker.postMessage({ type: 'stop', id });
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll('generation worker terminated');
  }

  private wait(id: number, onText?: (t: TextPiece) => void): Promise<FromGenerateWorker> {
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, onText }));
  }

  private receive(data: unknown): void {
    const parsed = FromGenerateWorkerSchema.safeParse(data);
    if (!parsed.success) {
      console.error(`generation worker sent a malformed message: ${z.prettifyError(parsed.error)}`);
      return;
    }
    const msg = parsed.data;
    if (msg.id === null) return this.failAll(msg.type === 'error' ? msg.message : 'generation worker failed');
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'text') return p.onText?.(msg);
    this.pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new Error(msg.message));
    else p.resolve(msg);
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
  }
}

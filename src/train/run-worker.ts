/**
 * The tab's run worker (run-worker-core.ts) in a Web Worker: the GPU is the
 * browser's, the resume record and data chunks live in IndexedDB, shipped
 * datasets are served beside the app.
 */
import { openIdbCache } from '../data/loader';
import { Gpu } from '../gpu/gpu';
import { ResumeStore } from './resume-store';
import { runWorkerCore } from './run-worker-core';

const receive = runWorkerCore({
  createGpu: (onLost) => Gpu.create(navigator.gpu, onLost),
  openRecordStore: () => ResumeStore.open(),
  openChunkCache: () => openIdbCache(),
  appBaseUrl: new URL(import.meta.env.BASE_URL, self.location.origin).href,
  post: (msg, transfer) => (self as unknown as Worker).postMessage(msg, transfer),
});

self.onmessage = (ev: MessageEvent) => receive(ev.data);

/**
 * Test page for e2e/peer-mesh.spec.ts: one PeerMesh per page, driven through
 * window.peerMeshTest. Signals leave through window.relaySignal, which the
 * spec exposes and forwards to the other browser. Only the dev server (or the
 * spec's own build of e2e/peer-mesh.html) serves this; the app never imports it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { PeerMesh, type PeerState } from '../src/net/peer-mesh';
import { patternBytes } from './peer-mesh-bytes';

export interface Received {
  from: string;
  hash: string;
  /** SHA-256 computed here with WebCrypto, independently of the mesh's own check. */
  digest: string;
  length: number;
  at: number;
}

declare global {
  interface Window {
    relaySignal?: (to: string, data: unknown) => Promise<void>;
    peerMeshTest?: typeof api;
  }
}

let mesh: PeerMesh | null = null;
const received: Received[] = [];
const messages: { from: string; message: unknown }[] = [];
const errors: { code: string; remoteId: string; hash?: string; message: string }[] = [];
const states: { remoteId: string; state: PeerState }[] = [];

async function digestHex(bytes: Uint8Array): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

function meshOrThrow(): PeerMesh {
  if (!mesh) throw new Error('call start() first');
  return mesh;
}

const api = {
  start(localId: string): void {
    mesh = new PeerMesh({ localId, sendSignal: (to, data) => void window.relaySignal!(to, data) });
    mesh.on('payload', (from, hash, bytes) => {
      const at = Date.now();
      void digestHex(bytes).then((digest) => received.push({ from, hash, digest, length: bytes.length, at }));
    });
    mesh.on('message', (from, message) => messages.push({ from, message }));
    mesh.on('error', (e) => errors.push({ code: e.code, remoteId: e.remoteId, hash: e.hash, message: e.message }));
    mesh.on('state', (remoteId, state) => states.push({ remoteId, state }));
  },
  signal(from: string, data: unknown): void {
    meshOrThrow().onSignal(from, data);
  },
  connect(remoteId: string): void {
    meshOrThrow().connect(remoteId);
  },
  state(remoteId: string): PeerState {
    return meshOrThrow().state(remoteId);
  },
  maxMessageSize(remoteId: string): number | null {
    return meshOrThrow().maxMessageSize(remoteId);
  },
  /** Sends patternBytes(seed, size), under the hash of patternBytes(hashSeed ?? seed, size). Returns when it started (ms). */
  async sendPattern(remoteId: string, seed: number, size: number, hashSeed = seed): Promise<number> {
    const bytes = patternBytes(seed, size);
    const hash = bytesToHex(sha256(patternBytes(hashSeed, size)));
    const startedAt = Date.now();
    await meshOrThrow().send(remoteId, bytes, hash);
    return startedAt;
  },
  sendWant(remoteId: string, step: number, hash: string): void {
    meshOrThrow().sendMessage(remoteId, { type: 'want', step, hash });
  },
  received: () => received,
  messages: () => messages,
  errors: () => errors,
  states: () => states,
  destroy(): void {
    mesh?.destroy();
    mesh = null;
  },
};

window.peerMeshTest = api;

/**
 * Where the coordinator's CPU went: a V8 CPU profile (node --cpu-prof, a
 * .cpuprofile JSON) summarized over a time window, as self time by function
 * and as inclusive time for the coordinator's main paths (a sample counts for
 * every distinct function on its stack).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The coordinator's paths, by the function that roots each (name and file). */
export const PATHS: { path: string; fn: string; file: string }[] = [
  { path: 'message broadcast to every socket (SocketServer.broadcast)', fn: 'broadcast', file: 'server/socket.ts' },
  { path: 'state diff computed and serialized (StateStream.advance)', fn: 'advance', file: 'server/state-stream.ts' },
  { path: 'frames written to every socket (SocketServer.broadcastFrames)', fn: 'broadcastFrames', file: 'server/socket.ts' },
  { path: 'whole state sent on join or stateGet (SocketServer.sendState)', fn: 'sendState', file: 'server/socket.ts' },
  { path: 'state machine step (structuredClone, events)', fn: 'step', file: 'src/run/state-machine.ts' },
  { path: 'state snapshot + effects into SQLite (Store.applyStep)', fn: 'applyStep', file: 'server/store.ts' },
  { path: 'payload check: hash + strict decode (checkPayload)', fn: 'checkPayload', file: 'server/payload-check.ts' },
  { path: 'copy check (CopyCheck.check)', fn: 'check', file: 'server/copy-check.ts' },
  { path: 'payload stored (Store.putPayload)', fn: 'putPayload', file: 'server/store.ts' },
  { path: 'relay: relayGet answered (onMessage → getPayload, encodeBinaryFrame, send)', fn: 'getPayload', file: 'server/store.ts' },
  { path: 'ed25519 verify (commit, witness, auth)', fn: 'verify', file: '@noble/curves' },
  { path: 'incoming frame parsed and validated (parseClientMessage)', fn: 'parseClientMessage', file: 'src/net/messages.ts' },
  { path: 'garbage collector', fn: '(garbage collector)', file: '' },
  { path: 'idle', fn: '(idle)', file: '' },
];

export interface ProfileSummary {
  seconds: number;
  /** Share of the window's samples (1 = the whole window on one thread). */
  paths: { path: string; share: number }[];
  topSelf: { fn: string; share: number }[];
}

export function loadProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

const shortFile = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '').replace(/^.*node_modules\//, '');

/** Summarizes the samples whose time lies in [fromUs, toUs) of the profile's clock (default: all). */
export function summarizeProfile(p: CpuProfile, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\u0000${shortFile(n.callFrame.url)}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let t = p.startTime;
  const from = window?.fromUs ?? -Infinity;
  const to = window?.toUs ?? Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < from || t >= to) continue;
    const dt = p.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    total += dt;
    let node = byId.get(p.samples[i]);
    if (!node) continue;
    self.set(key(node), (self.get(key(node)) ?? 0) + dt);
    const seen = new Set<string>();
    while (node) {
      const k = key(node);
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
      }
      const up = parent.get(node.id);
      node = up === undefined ? undefined : byId.get(up);
    }
  }
  const share = (us: number) => (total > 0 ? us / total : 0);
  const paths = PATHS.map(({ path, fn, file }) => {
    let us = 0;
    for (const [k, v] of inclusive) {
      const [name, url] = k.split('\u0000');
      if (name === fn && url.includes(file)) us = Math.max(us, v);
    }
    return { path, share: share(us) };
  });
  const topSelf = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, v]) => {
      const [name, url] = k.split('\u0000');
      return { fn: url ? `${name} (${url})` : name, share: share(v) };
    });
  return { seconds: total / 1e6, paths, topSelf };
}

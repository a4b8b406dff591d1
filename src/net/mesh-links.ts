/**
 * Which members of a round hold a direct WebRTC link (docs/design.md §11,
 * "Partial mesh"): a graph every client computes alike from public data, so
 * both ends of a link agree on it without negotiating.
 *
 * - Members sit on a ring ordered by SHA-256(runId ‖ id). The seed is the
 *   run's, not the round's: a member keeps its place while the member set is
 *   unchanged, so links last across rounds, and a join or leave only moves
 *   the links that span its place on the ring (at most the sum of the
 *   offsets below), instead of re-dealing the whole graph every round.
 * - Member i links to i ± o for each offset o of a geometric series
 *   (ringOffsets), ⌊D/2⌋ of them. Offset 1 is the ring, so the graph is
 *   connected; the chords keep any two members a few hops apart (at most
 *   about ⌊D/2⌋ · 2^(e−1), e.g. 8 at N = 500, D = 8), which bounds how many
 *   times a payload is forwarded.
 *   Each offset adds at most two links, so the degree is ≤ D, and "i links
 *   to i + o" is the same pair as "i + o links to (i + o) − o": symmetric.
 * - D = 0 or D ≥ N − 1 is the full mesh.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/** 0 means every member links to every other. */
export const FULL_MESH = 0;

function ringOrder(ids: readonly string[], runId: string): string[] {
  const seed = hexToBytes(runId);
  const key = new Map<string, string>();
  for (const id of ids) {
    const idBytes = utf8ToBytes(id);
    const buf = new Uint8Array(seed.length + idBytes.length);
    buf.set(seed);
    buf.set(idBytes, seed.length);
    key.set(id, bytesToHex(sha256(buf)));
  }
  // Ties are impossible for distinct ids short of a SHA-256 collision; the id breaks them anyway.
  return [...key.keys()].sort((a, b) => (key.get(a)! < key.get(b)! ? -1 : key.get(a)! > key.get(b)! ? 1 : a < b ? -1 : 1));
}

/**
 * The ring offsets for n members and degree d: ⌊d/2⌋ chords spread
 * geometrically up to n/2, powers of 2^e with e the smallest step that
 * reaches n/2 in that many (1, 2, 4, 8 for small runs; 1, 4, 16, 64 from
 * 34 to 513 members at d = 8), so any two members are a few hops apart at
 * any size. Powers of a power of two change only when e does, so a join or
 * leave keeps the offsets of everyone else. Offsets short of ⌊d/2⌋ (n small)
 * are filled with the smallest ones not taken yet.
 */
export function ringOffsets(n: number, degree: number): number[] {
  const half = Math.floor(n / 2);
  const want = Math.min(Math.floor(degree / 2), half);
  if (want === 0) return [];
  const step = Math.max(1, Math.ceil(Math.log2(Math.max(2, half)) / want));
  const offsets: number[] = [];
  for (let o = 1; offsets.length < want && o <= half; o *= 2 ** step) offsets.push(o);
  for (let o = 1; offsets.length < want && o <= half; o++) if (!offsets.includes(o)) offsets.push(o);
  return offsets.sort((a, b) => a - b);
}

/** Every member's links, for a set of distinct ids (the round's slots). */
export function meshGraph(ids: readonly string[], degree: number, runId: string): Map<string, Set<string>> {
  // Degree 1 cannot connect more than two members: a ring needs two links each.
  if (!Number.isInteger(degree) || degree < 0 || degree === 1) throw new RangeError(`mesh degree must be 0 (full) or an integer ≥ 2, got ${degree}`);
  const unique = [...new Set(ids)];
  const graph = new Map(unique.map((id) => [id, new Set<string>()]));
  const n = unique.length;
  if (degree === FULL_MESH || degree >= n - 1) {
    for (const a of unique) for (const b of unique) if (a !== b) graph.get(a)!.add(b);
    return graph;
  }
  const ring = ringOrder(unique, runId);
  for (const o of ringOffsets(n, degree)) {
    for (let i = 0; i < n; i++) {
      const a = ring[i];
      const b = ring[(i + o) % n];
      graph.get(a)!.add(b);
      graph.get(b)!.add(a);
    }
  }
  return graph;
}

/** The members `self` links to; none when it is not one of `ids`. */
export function meshLinks(self: string, ids: readonly string[], degree: number, runId: string): Set<string> {
  if (!ids.includes(self)) return new Set();
  return meshGraph(ids, degree, runId).get(self)!;
}

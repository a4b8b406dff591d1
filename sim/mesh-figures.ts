/**
 * What the partial mesh (src/net/mesh-links.ts) would ask of real tabs in a
 * simulated round. The sims open no WebRTC, so the links are computed from
 * the round's members with the tabs' own function: the most links any tab
 * holds, and the most hops a payload needs from its author (the graph's
 * diameter), which bounds how often it is forwarded.
 */
import { meshGraph } from '../src/net/mesh-links';

export interface MeshFigures {
  degree: number;
  /** The largest number of links one member holds. */
  maxLinks: number;
  /** The largest shortest-path distance between two members, in links. */
  hops: number;
}

export function meshFigures(ids: readonly string[], degree: number, runId: string): MeshFigures {
  const graph = meshGraph(ids, degree, runId);
  let maxLinks = 0;
  let hops = 0;
  for (const [id, links] of graph) {
    maxLinks = Math.max(maxLinks, links.size);
    hops = Math.max(hops, eccentricity(graph, id));
  }
  return { degree, maxLinks, hops };
}

/** Breadth-first: the hops from `from` to the member farthest from it (Infinity if some cannot be reached). */
function eccentricity(graph: Map<string, Set<string>>, from: string): number {
  const dist = new Map([[from, 0]]);
  let frontier = [from];
  let d = 0;
  while (frontier.length > 0) {
    d++;
    const next: string[] = [];
    for (const a of frontier) for (const b of graph.get(a)!) if (!dist.has(b)) (dist.set(b, d), next.push(b));
    frontier = next;
  }
  return dist.size === graph.size ? d - 1 : Infinity;
}

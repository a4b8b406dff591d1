/**
 * This tab's links for the round (src/net/mesh-links.ts): on each round it
 * opens the links it lacks and closes the connections that are not links
 * any more, and tells the mesh which offers to answer.
 */
import { meshLinks } from '../net/mesh-links';
import type { PeerMesh } from '../net/peer-mesh';
import type { RunConfig } from '../run/run-config';
import type { Round } from '../run/types';

export interface TopologyDeps {
  id: string;
  mesh(): Pick<PeerMesh, 'peers' | 'state' | 'connect' | 'close'> | null;
  config(): RunConfig | null;
}

export class MeshTopology {
  /** Null until the first round: a tab that reconnected mid-round answers offers as before, its links come with the next round. */
  private links: Set<string> | null = null;
  private others = 0;

  constructor(private readonly deps: TopologyDeps) {}

  /** Makes the mesh this round's: connects the missing links, closes the rest. */
  apply(round: Round): void {
    const config = this.deps.config();
    if (!config) return;
    this.links = meshLinks(this.deps.id, round.slots, config.meshDegree, config.runId);
    this.others = round.slots.filter((id) => id !== this.deps.id).length;
    const mesh = this.deps.mesh();
    if (!mesh) return;
    for (const peer of mesh.peers()) if (!this.links.has(peer)) mesh.close(peer);
    for (const peer of this.links) if (mesh.state(peer) !== 'connected') mesh.connect(peer);
  }

  /** Whether to answer an offer from `peer`. */
  admits(peer: string): boolean {
    return this.links === null || this.links.has(peer);
  }

  /** True when some members of the round are not this tab's links: their payloads come by forwarding. */
  partial(): boolean {
    return this.links !== null && this.links.size < this.others;
  }
}

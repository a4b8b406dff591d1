import { describe, expect, it } from 'vitest';
import { meshLinks } from '../net/mesh-links';
import { testConfig } from '../run/test-helpers';
import { MeshTopology } from './mesh-topology';
import { FakeMesh, makeRound } from './test-fakes';

const ids = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6'];

function topology(meshDegree: number, id = 'm0') {
  const mesh = new FakeMesh();
  const config = testConfig({ meshDegree });
  return { mesh, config, topo: new MeshTopology({ id, mesh: () => mesh, config: () => config }) };
}

describe('MeshTopology', () => {
  it('connects the round’s links, closes connections that are not links, and answers only links’ offers', () => {
    const { mesh, config, topo } = topology(2);
    expect(topo.admits('m5')).toBe(true); // no round yet: as before the partial mesh
    mesh.states.set('stranger', 'connected');
    const links = meshLinks('m0', ids, 2, config.runId);
    const other = ids.find((id) => id !== 'm0' && !links.has(id))!;
    mesh.states.set(other, 'connected');
    topo.apply(makeRound(3, ids));
    expect(new Set(mesh.peers())).toEqual(links);
    expect(mesh.closed.sort()).toEqual([other, 'stranger'].sort());
    for (const id of ids.slice(1)) expect(topo.admits(id)).toBe(links.has(id));
    expect(topo.partial()).toBe(true);
  });

  it('keeps a connected link open across rounds with the same members', () => {
    const { mesh, config, topo } = topology(2);
    topo.apply(makeRound(1, ids));
    for (const id of mesh.peers()) mesh.states.set(id, 'connected');
    topo.apply(makeRound(2, [...ids].reverse()));
    expect(mesh.closed).toEqual([]);
    expect(new Set(mesh.peers())).toEqual(meshLinks('m0', ids, 2, config.runId));
  });

  it('is the full mesh at degree 0, and links nobody when this tab is not in the round', () => {
    const full = topology(0);
    full.topo.apply(makeRound(1, ids));
    expect(full.mesh.peers().sort()).toEqual(ids.slice(1));
    expect(full.topo.partial()).toBe(false);
    const outside = topology(2, 'joiner');
    outside.mesh.states.set('m1', 'connected');
    outside.topo.apply(makeRound(1, ids));
    expect(outside.mesh.peers()).toEqual([]);
    expect(outside.topo.admits('m1')).toBe(false);
  });
});

/**
 * WebRTC for the headless client: simple-peer (as in a tab) over
 * node-datachannel's RTCPeerConnection, so a Node client and a browser tab
 * talk the same data-channel protocol. simple-peer rewrites the `sdp` of the
 * description createOffer/createAnswer return, and node-datachannel's are
 * read-only, so they are handed over as plain objects.
 */
import * as polyfill from 'node-datachannel/polyfill';
import SimplePeer from 'simple-peer';
import type { MeshPeer, PeerOptions } from '../net/peer-mesh';

class PeerConnection extends polyfill.RTCPeerConnection {
  override async createOffer(): Promise<RTCSessionDescriptionInit> {
    const d = await super.createOffer();
    return { type: d.type, sdp: d.sdp };
  }

  override async createAnswer(): Promise<RTCSessionDescriptionInit> {
    const d = await super.createAnswer();
    return { type: d.type, sdp: d.sdp };
  }
}

const wrtc = { RTCPeerConnection: PeerConnection, RTCSessionDescription: polyfill.RTCSessionDescription, RTCIceCandidate: polyfill.RTCIceCandidate };

export function createNodePeer(options: PeerOptions): MeshPeer {
  return new SimplePeer({ ...options, wrtc } as unknown as SimplePeer.Options) as unknown as MeshPeer;
}

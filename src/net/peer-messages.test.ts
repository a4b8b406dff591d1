import { describe, expect, it } from 'vitest';
import { MAX_HAVE_HASHES, MAX_PEER_MESSAGE_CHARS, type PeerMessage, PeerMessageError, encodePeerMessage, parsePeerMessage, parseSignal } from './peer-messages';

const H = 'ab'.repeat(32);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PeerMessageError);
    return (err as Error).message;
  }
  throw new Error('expected a PeerMessageError');
}

describe('peer control messages', () => {
  it('round-trips have and want', () => {
    const have: PeerMessage = { type: 'have', step: 3, hashes: [H, 'cd'.repeat(32)] };
    const want: PeerMessage = { type: 'want', step: 0, hash: H };
    expect(parsePeerMessage(encodePeerMessage(have))).toEqual(have);
    expect(parsePeerMessage(encodePeerMessage(want))).toEqual(want);
  });

  it('names what is wrong', () => {
    expect(errorOf(() => parsePeerMessage('{'))).toMatch(/not JSON/);
    expect(errorOf(() => parsePeerMessage('{"type":"gimme"}'))).toMatch(/invalid control message/);
    expect(errorOf(() => parsePeerMessage(JSON.stringify({ type: 'want', step: 1, hash: 'AB'.repeat(32) })))).toMatch(/hash: hash must be 64 lowercase hex/);
    expect(errorOf(() => parsePeerMessage(JSON.stringify({ type: 'want', step: -1, hash: H })))).toMatch(/step/);
    expect(errorOf(() => parsePeerMessage(JSON.stringify({ type: 'want', step: 1.5, hash: H })))).toMatch(/step/);
    expect(errorOf(() => parsePeerMessage(JSON.stringify({ type: 'want', step: 1, hash: H, extra: 1 })))).toMatch(/extra|Unrecognized/i);
    expect(errorOf(() => parsePeerMessage(JSON.stringify({ type: 'have', step: 1, hashes: [H, 'x'] })))).toMatch(/hashes\.1/);
  });

  it('bounds sizes before and after parsing', () => {
    expect(errorOf(() => parsePeerMessage(' '.repeat(MAX_PEER_MESSAGE_CHARS + 1)))).toMatch(/exceeds/);
    const many = { type: 'have', step: 1, hashes: Array.from({ length: MAX_HAVE_HASHES + 1 }, () => H) } as const;
    expect(errorOf(() => encodePeerMessage(many as never))).toMatch(/hashes/);
  });

  it('refuses to encode an invalid outgoing message', () => {
    expect(errorOf(() => encodePeerMessage({ type: 'want', step: 1, hash: 'nope' }))).toMatch(/hash/);
  });
});

describe('relayed WebRTC signals', () => {
  it('accepts what simple-peer emits for a data channel', () => {
    const offer = { type: 'offer', sdp: 'v=0\r\n' };
    const cand = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 x.local 5000 typ host', sdpMLineIndex: 0, sdpMid: '0' } };
    expect(parseSignal(offer)).toEqual(offer);
    expect(parseSignal(cand)).toEqual(cand);
    expect(parseSignal({ type: 'renegotiate', renegotiate: true }).type).toBe('renegotiate');
  });

  it('rejects media requests, unknown shapes and oversize SDP', () => {
    expect(errorOf(() => parseSignal({ type: 'transceiverRequest', transceiverRequest: { kind: 'video' } }))).toMatch(/invalid signal/);
    expect(errorOf(() => parseSignal('offer'))).toMatch(/invalid signal/);
    expect(errorOf(() => parseSignal({ type: 'offer', sdp: 'x'.repeat(64 * 1024 + 1) }))).toMatch(/sdp/);
    expect(errorOf(() => parseSignal({ type: 'candidate', candidate: { candidate: 1 } }))).toMatch(/candidate/);
  });
});

/** Messages too large for a frame: every frame within the limit whatever the text, and the parts join back exactly into the message. */
import { describe, expect, it } from 'vitest';
import { messageFrames, PartAssembler, ServerFrameReader } from './message-parts';
import { MAX_TEXT_FRAME_BYTES, MessageError, parseServerMessage, type ServerMessageOf } from './messages';

const bytes = (s: string) => new TextEncoder().encode(s).length;
const errorOf = (message: string) => JSON.stringify({ type: 'error', code: 'internal', message });

describe('message parts', () => {
  it('sends a message that fits as itself, and one that does not in parts under the limit that join back', () => {
    const small = errorOf('short');
    expect(messageFrames(small)).toEqual([small]);
    // The worst text for a frame: quotes, backslashes, 3-byte characters and surrogate pairs, as JSON string content.
    const nasty = JSON.stringify({ type: 'resync', step: 1, checksum: '0123456789abcdef', pad: '"\\‰😀a'.repeat(40_000) });
    const frames = messageFrames(nasty);
    expect(frames.length).toBeGreaterThan(5);
    for (const f of frames) expect(bytes(f)).toBeLessThanOrEqual(MAX_TEXT_FRAME_BYTES);
    const a = new PartAssembler();
    let joined: string | null = null;
    for (const f of frames) joined = a.add(parseServerMessage(f) as ServerMessageOf<'part'>) ?? joined;
    expect(joined).toBe(nasty);
  });

  it('reads a large message in parts as the message, validated like any frame', () => {
    const agreed = { type: 'agreed', step: 3, epoch: 0, slots: [0], clients: ['ab'.repeat(32)], hashes: ['ef'.repeat(32)], lrBits: 5, excluded: Array(300).fill({ slot: 1, clientId: 'ab'.repeat(32), reason: 'x'.repeat(900) }), checksum: null, base: 3 };
    const reader = new ServerFrameReader();
    const frames = messageFrames(JSON.stringify(agreed));
    expect(frames.length).toBeGreaterThan(1);
    const read = frames.map((f) => reader.read(f));
    expect(read.slice(0, -1)).toEqual(frames.slice(0, -1).map(() => null));
    expect(read.at(-1)).toEqual(agreed);
    const invalid = messageFrames(JSON.stringify({ ...agreed, lrBits: -1 }));
    expect(() => invalid.forEach((f) => reader.read(f))).toThrow(MessageError);
    // Parts of parts are refused: a message in parts is a message, never another part.
    const nested = messageFrames(JSON.stringify({ type: 'part', part: 0, parts: 2, text: 'y'.repeat(70_000) }));
    expect(() => nested.forEach((f) => reader.read(f))).toThrow(MessageError);
  });

  it('refuses a part that does not continue the message, and starts over at a part 0', () => {
    const frames = messageFrames(JSON.stringify({ type: 'resync', step: 1, checksum: '0123456789abcdef', pad: 'x'.repeat(200_000) })).map((f) => parseServerMessage(f) as ServerMessageOf<'part'>);
    const a = new PartAssembler();
    a.add(frames[0]);
    expect(() => a.add(frames[2])).toThrow(MessageError);
    expect(() => a.add(frames[1])).toThrow(MessageError);
    a.add(frames[0]);
    expect(() => a.add({ ...frames[1], parts: frames.length + 1 })).toThrow(MessageError);
    let joined: string | null = null;
    for (const f of frames) joined = a.add(f) ?? joined;
    expect(JSON.parse(joined!).pad).toHaveLength(200_000);
  });
});

/**
 * Server messages too large for one text frame travel as `part` frames
 * (docs/design.md §11): the message's JSON text cut into pieces, sent back to
 * back, joined and parsed by the client as one frame. What grows with the
 * run (the whole state a joining client gets, the clients' records that
 * change when a round of hundreds is agreed, the `round` and `agreed` lists
 * of 500 members) so never needs a larger frame, and MAX_TEXT_FRAME_BYTES
 * keeps its meaning for every frame; the joined text has its own bound,
 * MAX_MESSAGE_CHARS.
 */
import {
  MAX_MESSAGE_CHARS,
  MAX_MESSAGE_PARTS,
  MAX_TEXT_FRAME_BYTES,
  MessageError,
  parseServerMessage,
  parseServerMessageText,
  type ServerMessage,
  type ServerMessageOf,
} from './messages';

/** Characters of text per part: fits a frame unless the text is mostly quotes and multi-byte characters. */
const PART_CHARS = 48 * 1024;
/**
 * Always fits: as JSON string content a character takes at most 3 UTF-8 bytes
 * (2 for an escaped quote or backslash; surrogate pairs are never split, so
 * none is escaped as \uXXXX), so 20 Ki characters are at most 60 KiB.
 */
const SAFE_PART_CHARS = 20 * 1024;

const utf8 = new TextEncoder();

/** The frames that carry a message's JSON text `text`: itself when it fits, else its parts. */
export function messageFrames(text: string): string[] {
  if (fits(text)) return [text];
  if (text.length > MAX_MESSAGE_CHARS) throw new RangeError(`a message of ${text.length} characters is over MAX_MESSAGE_CHARS (${MAX_MESSAGE_CHARS})`);
  const pieces: string[] = [];
  for (let at = 0; at < text.length; ) {
    let piece = slice(text, at, PART_CHARS);
    if (!fits(frame(MAX_MESSAGE_PARTS, MAX_MESSAGE_PARTS, piece))) piece = slice(text, at, SAFE_PART_CHARS);
    pieces.push(piece);
    at += piece.length;
  }
  if (pieces.length > MAX_MESSAGE_PARTS) throw new RangeError(`a message of ${pieces.length} parts is over MAX_MESSAGE_PARTS (${MAX_MESSAGE_PARTS})`);
  return pieces.map((p, i) => frame(i, pieces.length, p));
}

function frame(part: number, parts: number, text: string): string {
  return JSON.stringify({ type: 'part', part, parts, text } satisfies ServerMessageOf<'part'>);
}

function fits(frameText: string): boolean {
  // Characters bound bytes from below and a third of the bytes from above: most frames are decided without encoding.
  return frameText.length <= MAX_TEXT_FRAME_BYTES && (frameText.length * 3 <= MAX_TEXT_FRAME_BYTES || utf8.encode(frameText).length <= MAX_TEXT_FRAME_BYTES);
}

/** Up to `n` characters of `text` from `at`, never ending between the halves of a surrogate pair. */
function slice(text: string, at: number, n: number): string {
  let end = Math.min(text.length, at + n);
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(at, end);
}

/** Joins the parts of one message as they arrive, in order. */
export class PartAssembler {
  private current: { parts: number; texts: string[]; chars: number } | null = null;

  /** The whole text once `msg` was its last part, else null. Throws MessageError for a part out of order or over the bounds. */
  add(msg: ServerMessageOf<'part'>): string | null {
    // A new message starts at part 0 and abandons an unfinished one.
    if (msg.part === 0) this.current = { parts: msg.parts, texts: [], chars: 0 };
    const c = this.current;
    if (c === null || c.parts !== msg.parts || c.texts.length !== msg.part) {
      this.current = null;
      throw new MessageError('bad-frame', `part ${msg.part} of ${msg.parts} does not continue the parts received`);
    }
    c.chars += msg.text.length;
    if (c.chars > MAX_MESSAGE_CHARS) {
      this.current = null;
      throw new MessageError('too-large', `a message in parts is over ${MAX_MESSAGE_CHARS} characters`);
    }
    c.texts.push(msg.text);
    if (c.texts.length < c.parts) return null;
    this.current = null;
    return c.texts.join('');
  }

  reset(): void {
    this.current = null;
  }
}

/** The server's text frames as messages: parts joined (null until the last), everything validated. */
export class ServerFrameReader {
  private readonly parts = new PartAssembler();

  read(text: string): ServerMessage | null {
    return this.message(parseServerMessage(text));
  }

  /** For a frame already parsed (the simulator shares parses of identical frames). */
  message(msg: ServerMessage): ServerMessage | null {
    if (msg.type !== 'part') return msg;
    const whole = this.parts.add(msg);
    return whole === null ? null : parseServerMessageText(whole);
  }
}

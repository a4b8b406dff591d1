/**
 * GPT-2's byte-level alphabet (`bytes_to_unicode` in OpenAI's encoder.py and
 * Hugging Face's ByteLevel pre-tokenizer). Hugging Face vocabularies are
 * keyed by strings, so each byte is shown as one printable character: bytes
 * that already print as themselves keep their Latin-1 character, the others
 * (control bytes, space, a few Latin-1 blanks) get U+0100 onwards in byte
 * order. A token's key is its bytes mapped through this table.
 */

function buildByteToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) table.push(String.fromCharCode(printable(b) ? b : next++));
  return table;
}

/** BYTE_TO_UNICODE[b] is the character standing for byte b. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** The vocabulary key of a token made of these bytes. */
export function byteLevelString(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

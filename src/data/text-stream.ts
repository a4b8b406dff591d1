/**
 * UTF-8 bytes (a file read as a stream, gunzipped or not) as text, a chunk at
 * a time. Decoding is fatal: a mis-encoded file must stop a data build, not
 * become U+FFFD tokens; a character split across chunks is kept whole.
 */
export class TextDecodeError extends Error {
  override name = 'TextDecodeError';
}

export async function* utf8Text(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, where: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  for await (const chunk of chunks) {
    yield decode(decoder, chunk, where, offset);
    offset += chunk.byteLength;
  }
  yield decode(decoder, undefined, where, offset);
}

function decode(decoder: TextDecoder, chunk: Uint8Array | undefined, where: string, offset: number): string {
  try {
    return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
  } catch {
    const at = chunk === undefined ? 'at its end' : `in bytes ${offset}–${offset + chunk.byteLength - 1}`;
    throw new TextDecodeError(`${where} is not valid UTF-8 (${at})`);
  }
}

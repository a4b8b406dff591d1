/**
 * One HTTP byte range (RFC 9110 §14): "bytes=a-b", "bytes=a-" or "bytes=-n".
 * Shard readers ask for one range at a time, so multiple ranges are refused
 * rather than answered with multipart bodies nobody reads.
 */
export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'invalid'; reason: string };

const SPEC = /^bytes=(\d*)-(\d*)$/;

/** `end` is inclusive, as in Content-Range. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = SPEC.exec(header.trim());
  if (m === null) return { kind: 'invalid', reason: `Range "${header.slice(0, 100)}" is not a single "bytes=start-end" range` };
  const [, a, b] = m;
  if (a === '' && b === '') return { kind: 'invalid', reason: 'Range "bytes=-" names no bytes' };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'invalid', reason: `suffix range of ${n} bytes of a ${size}-byte file is empty` };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'invalid', reason: `range start ${a} is not inside the ${size}-byte file` };
  if (b !== '' && Number(b) < start) return { kind: 'invalid', reason: `range end ${b} is before its start ${a}` };
  return { kind: 'partial', start, end };
}

/**
 * Whether a Range may be honoured under the request's If-Range (RFC 9110
 * §13.1.5): only when it names the current representation by its strong
 * ETag. A stale or weak tag, or a date (we send no Last-Modified), means the
 * client's partial copy is of other bytes, so it gets the whole body.
 */
export function ifRangeAllows(ifRange: string | undefined, etag: string): boolean {
  return ifRange === undefined || ifRange.trim() === etag;
}

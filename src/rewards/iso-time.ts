/**
 * Times inside signed messages are written exactly as Date.toISOString()
 * writes them (UTC, milliseconds, 'Z'). One spelling per instant means a
 * message parses to one meaning only, and the round-trip check in the
 * parsers stays exact.
 */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** ms since the epoch, or null when `text` is not a canonical toISOString() value. */
export function parseIsoTime(text: string): number | null {
  if (!ISO.test(text)) return null;
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== text) return null;
  return ms;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

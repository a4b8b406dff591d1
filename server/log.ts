/**
 * Structured logs: one JSON object per line, `{time, ...fields, event}`, so
 * an operator can grep by event and a test can read what happened. `event`
 * is written last so a field of that name can never hide it.
 */
export type Logger = (event: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line), now: () => number = Date.now): Logger {
  return (event, fields = {}) => write(JSON.stringify({ time: new Date(now()).toISOString(), ...fields, event }) + '\n');
}

/** Keeps every record in memory (tests). */
export function memoryLogger(): Logger & { records: ({ event: string } & Record<string, unknown>)[] } {
  const records: ({ event: string } & Record<string, unknown>)[] = [];
  const log = ((event: string, fields: Record<string, unknown> = {}) => {
    records.push({ ...fields, event });
  }) as Logger & { records: typeof records };
  log.records = records;
  return log;
}

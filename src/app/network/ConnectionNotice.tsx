/** Says when the Network page is not live: before the first answer, while the stream reconnects, or when the coordinator does not answer. */
import type { Connection } from './useNetwork';

const TEXT: Record<Connection, string> = {
  connecting: 'Connecting to the coordinator…',
  live: 'Live',
  reconnecting: 'The live stream dropped; reconnecting…',
  unreachable: 'The coordinator is unreachable.',
};

export function ConnectionNotice({ connection, error }: { connection: Connection; error: string | null }) {
  return (
    <>
      <p className="status-line" aria-live="polite">
        <span className="dot" data-phase={connection === 'live' ? 'running' : connection === 'unreachable' ? 'error' : 'idle'} aria-hidden="true" />
        <span data-testid="network-connection" data-connection={connection}>
          {TEXT[connection]}
        </span>
      </p>
      {error !== null && (
        <div className={connection === 'unreachable' ? 'alert' : 'alert warn'} role="alert" data-testid="network-error">
          {error}
        </div>
      )}
    </>
  );
}

/**
 * The coordinator process (docs/run.md):
 *   vite-node server/main.ts -- --port 8080 --db .tessera/run.sqlite --config run.json
 * Flags: --port (8080), --host (127.0.0.1), --db (.tessera/run.sqlite),
 * --config (a run config JSON; only needed to create a run), --dist (dist),
 * --data (public/data), --tick (250 ms), --chain (a chain config JSON; default:
 * LiteSVM in chain.sqlite beside --db), --domain (host[:port] that rewards
 * messages must name; default --host:port), --bucket (an S3-compatible bucket for
 * update payloads instead of the relay; with --bucket-endpoint, --bucket-region,
 * --bucket-prefix, credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
 * Logs are JSON lines on stdout.
 */
import { jsonLogger } from './log';
import { startCoordinator } from './start';

const log = jsonLogger();
startCoordinator(process.argv.slice(2), log).then(
  (stop) => {
    const shutdown = (signal: string) => {
      log('signal', { signal });
      stop().then(
        () => process.exit(0),
        (e: unknown) => {
          log('fatal', { error: (e as Error).message });
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  },
  (e: unknown) => {
    log('fatal', { error: (e as Error).message });
    process.exit(1);
  },
);

/**
 * Flags → a running coordinator (HTTP + WebSocket + tick loop); main.ts is
 * the process around it. Every flag has a default; without --config a new
 * run uses parseRunConfig({}) and an existing database resumes its own run.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseRunConfig, type RunConfig } from '../src/run/run-config';
import { Coordinator } from './coordinator';
import { EventHub, publishRunEvents } from './events';
import { createHttpServer, type HttpOptions } from './http';
import { parseBucketOptions } from './bucket-options';
import { bucketPayloadStore } from './bucket-store';
import { jsonLogger, type Logger } from './log';
import { payloadsIn, relayPayloadStore, type Payloads } from './payload-store';
import { defaultDomain, openRewards } from './rewards/open-rewards';
import { SocketServer } from './socket';
import { Store } from './store';

const flagsSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  db: z.string().min(1).default('.tessera/run.sqlite'),
  config: z.string().min(1).optional(),
  dist: z.string().min(1).default('dist'),
  data: z.string().min(1).default('public/data'),
  tick: z.coerce.number().int().min(10).max(10_000).default(250),
  /** A chain config JSON (server/chain/config.ts); default: LiteSVM in chain.sqlite beside --db. */
  chain: z.string().min(1).optional(),
  /** host[:port] that rewards messages must name, as browsers see the app; default: --host:port. */
  domain: z.string().min(1).optional(),
  /** An S3-compatible bucket for update payloads instead of this server's relay (bucket-options.ts); the rest configure it. */
  bucket: z.string().min(1).optional(),
  'bucket-endpoint': z.string().min(1).optional(),
  'bucket-region': z.string().min(1).optional(),
  'bucket-prefix': z.string().optional(),
});

export type Flags = z.output<typeof flagsSchema>;

export function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: Object.fromEntries(Object.keys(flagsSchema.shape).map((k) => [k, { type: 'string' as const }])),
    strict: true,
  });
  const result = flagsSchema.safeParse(values);
  if (!result.success) throw new Error(`bad flags:\n${z.prettifyError(result.error)}`);
  return result.data;
}

/**
 * A config file without a runId gets `runId`: the stored run's, or a fresh
 * random one for a new run. The schema's default id is a fixed constant, and
 * two deployments sharing it would accept each other's signed commitments.
 */
function loadConfig(path: string | undefined, runId: string): RunConfig | undefined {
  if (path === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the run config ${path}: ${(e as Error).message}`);
  }
  const withId = typeof json === 'object' && json !== null && !Array.isArray(json) && !('runId' in json) ? { ...json, runId } : json;
  return parseRunConfig(withId, path);
}

/** The relay, or the bucket when --bucket names one (its other flags need it). */
function payloadsFrom(flags: Flags, store: Store): Payloads {
  const { bucket, 'bucket-endpoint': endpoint, 'bucket-region': region, 'bucket-prefix': prefix } = flags;
  if (bucket === undefined) {
    if (endpoint !== undefined || region !== undefined || prefix !== undefined) throw new Error('bad flags: --bucket-endpoint, --bucket-region and --bucket-prefix need --bucket');
    return payloadsIn(relayPayloadStore(store));
  }
  return payloadsIn(bucketPayloadStore(parseBucketOptions({ bucket, endpoint, region, prefix })));
}

/** Starts everything and resolves once listening, with the function that stops it all. */
export async function startCoordinator(argv: string[], log: Logger = jsonLogger()): Promise<() => Promise<void>> {
  const flags = parseFlags(argv);
  loadConfig(flags.config, '0'.repeat(32)); // a bad config file is refused before any database file is made
  const store = Store.open(flags.db);
  // A new database gets --config or every default; an existing one keeps its own (a different --config is refused).
  const stored = store.loadConfig();
  const runId = stored?.runId ?? randomBytes(16).toString('hex');
  const given = loadConfig(flags.config, runId);
  const config = given ?? (stored === null ? parseRunConfig({ runId }) : undefined);
  const coordinator = Coordinator.open({ store, config, now: Date.now, log });
  const events = new EventHub(log);
  const unpublish = publishRunEvents(coordinator, store, events);
  const payloads = payloadsFrom(flags, store);
  const httpOptions: HttpOptions = { coordinator, store, events, payloads, distDir: flags.dist, dataDir: flags.data, log };
  const server = createHttpServer(httpOptions);
  const sockets = new SocketServer({ server, coordinator, store, log, payloads });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(flags.port, flags.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : flags.port;
  // Opened once the port is known: the default domain names it.
  const rewards = await openRewards({ runDbPath: flags.db, chainConfigPath: flags.chain, runId: coordinator.config.runId, domain: flags.domain ?? defaultDomain(flags.host, port), log });
  httpOptions.rewards = rewards.rewards;
  coordinator.start(flags.tick);
  log('listening', { host: flags.host, port, db: flags.db, runId: coordinator.config.runId, payloads: flags.bucket === undefined ? 'relay' : `bucket ${flags.bucket}` });
  return async () => {
    coordinator.stop();
    unpublish();
    events.close(); // open event streams would keep server.close waiting
    await sockets.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rewards.close();
    store.close();
    log('stopped');
  };
}

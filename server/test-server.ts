/** A whole coordinator on a free port with a fake clock, for the server tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunConfig } from '../src/run/run-config';
import { Coordinator } from './coordinator';
import { EventHub, publishRunEvents, type EventHubLimits } from './events';
import { createHttpServer } from './http';
import { memoryLogger } from './log';
import { payloadsIn, relayPayloadStore, type Payloads, type PayloadStore } from './payload-store';
import { SocketServer, type SocketLimits } from './socket';
import { Store } from './store';
import type { Round } from '../src/run/types';
import type { TestClient } from './test-client';

export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestServer {
  url: string;
  wsUrl: string;
  coordinator: Coordinator;
  store: Store;
  log: ReturnType<typeof memoryLogger>;
  /** The hub behind /api/events. */
  events: EventHub;
  /** The payload store and the counters of what crossed the coordinator. */
  payloads: Payloads;
  /** Closes sockets, HTTP and the database (the files stay). */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  dbPath: string;
  config?: RunConfig;
  clock: FakeClock;
  distDir?: string;
  dataDir?: string;
  limits?: Partial<SocketLimits>;
  eventLimits?: Partial<EventHubLimits>;
  /** The relay on this server's store unless given (a bucket: bucket-store.ts). */
  payloadStore?: PayloadStore;
}

export async function startTestServer(o: TestServerOptions): Promise<TestServer> {
  const log = memoryLogger();
  const store = Store.open(o.dbPath);
  const coordinator = Coordinator.open({ store, config: o.config, now: o.clock.now, log });
  const events = new EventHub(log, o.eventLimits);
  const unpublish = publishRunEvents(coordinator, store, events);
  const payloads = payloadsIn(o.payloadStore ?? relayPayloadStore(store));
  const server = createHttpServer({ coordinator, store, events, payloads, distDir: o.distDir ?? '/nonexistent-dist', dataDir: o.dataDir ?? '/nonexistent-data', log });
  const sockets = new SocketServer({ server, coordinator, store, log, limits: o.limits, payloads });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    coordinator,
    store,
    log,
    events,
    payloads,
    async stop() {
      unpublish();
      events.close();
      await sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
    },
  };
}

/** A fresh temp folder; call the returned cleanup in afterEach. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-server-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Two authenticated clients (seeds 1 and 2) that joined, and the first round in RoundTrain. */
export async function twoMembersInRound(
  server: TestServer,
  clock: FakeClock,
  config: RunConfig,
  connect: (server: TestServer, seed: number) => Promise<TestClient>,
): Promise<{ a: TestClient; b: TestClient; round: Round }> {
  const a = await connect(server, 1);
  const b = await connect(server, 2);
  await a.auth();
  await b.auth();
  a.sendJson({ type: 'join' });
  b.sendJson({ type: 'join' });
  await b.next('phase', (m) => m.to === 'Warmup');
  clock.advance(config.warmupTime);
  server.coordinator.tick();
  const round = (await a.next('round')).round;
  return { a, b, round };
}

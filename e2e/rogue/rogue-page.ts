/**
 * Test page for the rogue peers (e2e/rogue/rogue-client.ts): a page may host
 * several (a group of colluders shares one). Driven through window.rogue by
 * e2e/rogue/driver.ts; only that driver's build of e2e/rogue/rogue.html (or
 * the dev server) serves it, and the app never imports it.
 */
import { RogueClient, type RogueOptions, type RogueView } from './rogue-client';

declare global {
  interface Window {
    rogue?: typeof api;
  }
}

const clients = new Map<string, RogueClient>();

const api = {
  /** Starts one rogue; resolves to its client id (hex public key). */
  start(opts: RogueOptions): string {
    const client = new RogueClient(opts);
    if (clients.has(client.id)) throw new Error(`rogue ${client.id} already runs on this page`);
    clients.set(client.id, client);
    client.start();
    return client.id;
  },
  /** Starts several at once (a group of colluders joins together); resolves to their ids. */
  startAll(all: RogueOptions[]): string[] {
    return all.map((o) => api.start(o));
  },
  /** What every rogue on this page did so far (plain JSON). */
  state(): RogueView[] {
    return [...clients.values()].map((c) => JSON.parse(JSON.stringify(c.view)) as RogueView);
  },
  stop(id?: string): void {
    for (const [key, c] of clients) if (id === undefined || id === key) c.stop();
  },
};

window.rogue = api;

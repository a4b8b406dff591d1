/**
 * The test side of the rogue peers: builds e2e/rogue/rogue.html alone (as
 * e2e/peer-mesh.spec.ts builds its page), opens it in one Chromium process
 * and starts rogues in it, and reads back what they did.
 *
 * The page is served under the coordinator's own origin: a Playwright route
 * answers the built page's files from disk and lets every other request
 * through to the coordinator, so the rogue's socket and its /api/updates
 * fetches are same-origin, exactly as the app's are.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { buildPage } from '../../bench/serve';
import { TestClient } from '../../server/test-client';
import { chromiumLaunchOptions } from '../chromium';
import { status, type Tab } from '../run-harness';
import { rogueId, type RogueKind, type RogueOptions, type RogueView } from './rogue-client';

export type { RogueKind, RogueView } from './rogue-client';
export { rogueId } from './rogue-client';

const SITE_DIR = resolve('test-results/rogue-site');
const PAGE_PATH = '/e2e/rogue/rogue.html';

let built: Promise<void> | null = null;

/** The rogue page, built once per test process. */
export function buildRoguePage(): Promise<void> {
  built ??= buildPage(SITE_DIR, 'e2e/rogue/rogue.html');
  return built;
}

export interface RogueSpec {
  kind: RogueKind;
  seedByte: number;
  /** Colluders only: the group's seed bytes; the spec starts each of them in one page. */
  colluderSeeds?: number[];
}

export interface Rogues {
  ids: Map<number, string>;
  /** Every rogue's view, by id. */
  state(): Promise<Map<string, RogueView>>;
  /** Resolves once every rogue has had a slot in a round; the first round that had them all. */
  allInRounds(timeoutMs: number): Promise<number>;
  /** Stops every rogue (leave + close), keeping the browser for a last state(). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** One Chromium process, one page per kind (colluders share theirs), every rogue started. */
export async function startRogues(coordinatorUrl: string, runId: string, specs: RogueSpec[]): Promise<Rogues> {
  await buildRoguePage();
  // The page's files come from a route, which Chromium's Local Network Access
  // checks do not place on loopback: without this they block its socket to 127.0.0.1.
  const base = chromiumLaunchOptions();
  const browser: Browser = await chromium.launch({ ...base, args: [...(base.args ?? []), '--disable-features=LocalNetworkAccessChecks'] });
  const context = await browser.newContext();
  await context.route(`${coordinatorUrl}/**`, async (route) => {
    const path = decodeURIComponent(new URL(route.request().url()).pathname);
    const file = join(SITE_DIR, path);
    if (!path.includes('..') && (path.startsWith('/e2e/rogue/') || path.startsWith('/assets/')) && existsSync(file) && statSync(file).isFile()) {
      return route.fulfill({ path: file });
    }
    return route.continue();
  });
  const socketUrl = coordinatorUrl.replace(/^http/, 'ws') + '/ws';
  const pages: Page[] = [];
  const ids = new Map<number, string>();
  const byPage = new Map<string, RogueSpec[]>();
  for (const s of specs) {
    const key = s.kind === 'colluders' ? `colluders:${(s.colluderSeeds ?? []).join(',')}` : `${s.kind}:${s.seedByte}`;
    byPage.set(key, [...(byPage.get(key) ?? []), s]);
  }
  // Every page at once, each group in one call, so the rogues join (nearly) the same round.
  await Promise.all(
    [...byPage].map(async ([key, group]) => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') console.log(`[rogue ${key}] ${m.text()}`);
      });
      page.on('pageerror', (e) => console.log(`[rogue ${key}] page error: ${e.message}`));
      await page.goto(`${coordinatorUrl}${PAGE_PATH}`);
      await page.waitForFunction(() => 'rogue' in window, undefined, { timeout: 60_000 });
      const opts: RogueOptions[] = group.map((s) => ({ socketUrl, kind: s.kind, seedByte: s.seedByte, runId, colluderSeeds: s.colluderSeeds }));
      const started = await page.evaluate((o) => window.rogue!.startAll(o), opts);
      group.forEach((s, i) => ids.set(s.seedByte, started[i]));
      pages.push(page);
    }),
  );
  const state = async (): Promise<Map<string, RogueView>> => {
    const all = (await Promise.all(pages.map((p) => p.evaluate(() => window.rogue!.state())))).flat();
    return new Map(all.map((v) => [v.id, v]));
  };
  return {
    ids,
    state,
    async allInRounds(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const views = [...(await state()).values()];
        if (views.length === ids.size && views.every((v) => v.rounds.length > 0)) return Math.max(...views.map((v) => v.rounds[0]));
        if (Date.now() > deadline) throw new Error(`rogues without a round after ${timeoutMs} ms: ${views.filter((v) => v.rounds.length === 0).map((v) => v.kind).join(', ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      await Promise.all(pages.map((p) => p.evaluate(() => window.rogue!.stop())));
    },
    close: () => browser.close(),
  };
}

/**
 * A fresh socket with a rogue's key, as the attacker would try after being
 * thrown out: what the coordinator answers to its auth ('welcome', or an
 * error code such as 'ejected').
 */
export async function reconnectAs(coordinatorUrl: string, seedByte: number): Promise<string> {
  const client = await TestClient.connect(coordinatorUrl.replace(/^http/, 'ws') + '/ws', seedByte);
  if (client.id !== rogueId(seedByte)) throw new Error('test-client and rogue keys differ');
  try {
    await client.auth();
    return 'welcome';
  } catch {
    const error = client.texts().find((m) => m.type === 'error');
    return error && error.type === 'error' ? error.code : `closed (${client.closed?.reason ?? 'no reason'})`;
  } finally {
    await client.close();
  }
}

/**
 * Waits until the run reached `step` and every honest tab still in it (not
 * ejected or gone in /api/status) applied it; a tab the coordinator threw out
 * is not waited for. Resolves to a note on what did not happen in time ('' when all did).
 */
export async function waitForHonest(url: string, tabs: Tab[], step: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(url).catch(() => null);
    const views = await Promise.all(tabs.map((t) => t.state()));
    const live = views.filter((v) => !['ejected', 'gone'].includes(s?.clients.find((c) => c.id === v.clientId)?.state ?? ''));
    if (s && s.step >= step && live.every((v) => v.appliedStep >= step)) return '';
    if (Date.now() > deadline) return `after ${timeoutMs} ms the run is at step ${s?.step}, the honest tabs at ${views.map((v) => v.appliedStep).join(', ')}; wanted ${step}`;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The Network page end to end: a real coordinator, two Chromium tabs that
 * train, and a third page open on #/network from before the run starts. The
 * page must follow the run live (server-sent events, no reload, no polling
 * of the history), show the coordinator's step and members, and show as each
 * round's loss the median of what the two tabs trained it to. When the
 * coordinator goes away the page says so; when it is back the page catches
 * up by itself.
 */
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import { chromiumLaunchOptions } from './chromium';
import { buildApp, freshDir, openTab, startCoordinator, status, testConfig, type CoordinatorProcess, type Tab } from './run-harness';

test.describe.configure({ mode: 'serial' });

let coordinator: CoordinatorProcess | null = null;
let viewer: Browser | null = null;
const tabs: Tab[] = [];

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterEach(async () => {
  await Promise.all(tabs.splice(0).map((t) => t.close().catch(() => {})));
  await viewer?.close().catch(() => {});
  viewer = null;
  await coordinator?.stop().catch(() => {});
  coordinator = null;
});

const attr = async (page: Page, testId: string, name: string) => page.getByTestId(testId).getAttribute(name);
const numberAttr = async (page: Page, testId: string, name = 'data-value') => {
  const v = await attr(page, testId, name);
  return v === null || v === '' ? null : Number(v);
};

/** The median as the test computes it: the middle value, or the mean of the middle two. */
function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

test('the Network page follows a two-tab run live: step, members and each round’s median loss, and catches up after the coordinator restarts', async () => {
  test.setTimeout(600_000);
  const dir = freshDir('network');
  coordinator = await startCoordinator(dir, testConfig({ initMinClients: 2 }));
  const url = coordinator.url;

  viewer = await chromium.launch(chromiumLaunchOptions());
  const page = await (await viewer.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`[network] page error: ${e.message}`));
  const historyRequests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/history')) historyRequests.push(r.url());
  });
  await page.goto(`${url}/#/network`);
  await expect(page.getByTestId('network-connection')).toHaveAttribute('data-connection', 'live', { timeout: 30_000 });
  await expect(page.getByTestId('network-step')).toHaveAttribute('data-value', '0');
  await expect(page.getByTestId('network-members')).toHaveAttribute('data-value', '0');
  await expect(page.getByTestId('network-phase')).toHaveText('WaitingForMembers');
  await expect(page.getByTestId('network-rounds')).toHaveCount(0);
  // Marks this document: a reload would lose it.
  await page.evaluate(() => ((globalThis as unknown as { networkMark: number }).networkMark = 42));
  const loadsBefore = historyRequests.length;

  tabs.push(...(await Promise.all(['a', 'b'].map((n) => openTab(url, n)))));
  await expect.poll(() => numberAttr(page, 'network-step'), { timeout: 480_000, intervals: [1000] }).toBeGreaterThanOrEqual(5);
  await expect(page.getByTestId('network-members')).toHaveAttribute('data-value', '2');
  expect(await page.evaluate(() => (globalThis as unknown as { networkMark?: number }).networkMark)).toBe(42);
  // Every round arrived on the stream: the page did not ask for the history again.
  expect(historyRequests.length).toBe(loadsBefore);

  // The step and members are the coordinator's (polled until both sides are read between two changes).
  await expect
    .poll(
      async () => {
        const s = await status(url);
        const shown = { step: await numberAttr(page, 'network-step'), members: await numberAttr(page, 'network-members') };
        return shown.step === s.step && shown.members === s.clients.filter((c) => c.state === 'member').length;
      },
      { timeout: 60_000 },
    )
    .toBe(true);

  // Each round's loss is the median of the two tabs' own losses for that step. The page is read in one go (the
  // run goes on meanwhile), the tabs after it: a tab has its loss of a step before that round can end.
  const shown = await page.evaluate(() => {
    const loss = document.querySelector<HTMLElement>('[data-testid="network-loss"]')!;
    const trs = [...document.querySelectorAll<HTMLElement>('[data-testid="network-round"]')];
    return {
      latestStep: Number(loss.dataset.step),
      latestLoss: Number(loss.dataset.value),
      rows: trs.map((tr) => ({ step: Number(tr.dataset.step), loss: Number(tr.dataset.loss), agreed: Number(tr.dataset.agreed) })),
    };
  });
  const { latestStep, latestLoss, rows } = shown;
  const views = await Promise.all(tabs.map((t) => t.state()));
  expect(rows.length).toBeGreaterThanOrEqual(5);
  expect(rows[0].step).toBe(latestStep);
  expect(rows[0].loss).toBe(latestLoss);
  let compared = 0;
  for (const row of rows) {
    const losses = views.map((v) => v.lossHistory.find((l) => l.step === row.step)?.loss);
    if (row.agreed !== 2 || losses.some((l) => l === undefined)) continue;
    expect(Math.abs(row.loss - medianOf(losses as number[])), `step ${row.step}: dashboard ${row.loss}, tabs ${losses.join(', ')}`).toBeLessThanOrEqual(1e-6);
    compared++;
  }
  console.log(`compared the median loss of ${compared} of ${rows.length} rounds; latest step ${latestStep}: ${latestLoss}`);
  expect(compared).toBeGreaterThanOrEqual(4);
  expect(rows.find((r) => r.step === latestStep)!.agreed).toBe(2);

  // The leaderboard has both tabs with the coordinator's points.
  await expect
    .poll(
      async () => {
        const s = await status(url);
        const shown = await page.getByTestId('network-leaderboard-row').evaluateAll((trs) => trs.map((tr) => [tr.dataset.client, Number(tr.dataset.points)]));
        const expected = s.clients.map((c) => [c.id, c.points]);
        return JSON.stringify([...shown].sort()) === JSON.stringify([...expected].sort()) && expected.length === 2 && s.clients.every((c) => c.points > 0);
      },
      { timeout: 60_000 },
    )
    .toBe(true);

  // The coordinator goes away: the page says so. Back on the same port, the page reconnects by itself and
  // reloads the history from the last round it saw.
  const port = coordinator.port;
  const stepBefore = (await numberAttr(page, 'network-step'))!;
  await coordinator.kill();
  await expect(page.getByTestId('network-connection')).not.toHaveAttribute('data-connection', 'live', { timeout: 30_000 });
  await expect(page.getByTestId('network-error')).toBeVisible();
  coordinator = await startCoordinator(dir, null, port);
  await expect(page.getByTestId('network-connection')).toHaveAttribute('data-connection', 'live', { timeout: 60_000 });
  await expect(page.getByTestId('network-error')).toHaveCount(0, { timeout: 30_000 });
  await expect.poll(() => historyRequests.length, { timeout: 30_000 }).toBeGreaterThan(loadsBefore);
  const lastSeen = rows[0].step;
  expect(historyRequests.slice(loadsBefore).some((u) => Number(new URL(u).searchParams.get('fromStep')) > lastSeen)).toBe(true);
  await expect.poll(() => numberAttr(page, 'network-step'), { timeout: 240_000, intervals: [1000] }).toBeGreaterThan(stepBefore + 1);
  expect(await page.evaluate(() => (globalThis as unknown as { networkMark?: number }).networkMark)).toBe(42);
});

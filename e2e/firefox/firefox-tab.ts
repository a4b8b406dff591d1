/**
 * A Firefox tab in a run: Debian's Firefox (wgpu on lavapipe), driven by
 * puppeteer-core, on the coordinator's app, having clicked Contribute. It has
 * the shape the run harness's waits read (`state()`), so a mixed run treats
 * it like a Chromium tab.
 */
import type { RunView } from '../../src/run-client/run-client';
import { launchFirefox, webGpuProblem, type FirefoxSession } from './firefox';

export interface FirefoxTab {
  session: FirefoxSession;
  state(): Promise<RunView>;
  close(): Promise<void>;
}

export async function openFirefoxTab(url: string, name: string): Promise<FirefoxTab> {
  const session = await launchFirefox();
  const { page } = session;
  try {
    page.on('console', (m) => {
      // BiDi names console.warn 'warn' (Playwright's Chromium says 'warning'); the run client's info lines say how it got its parameters.
      if (m.type() === 'error' || m.type() === 'warn' || (m.type() === 'info' && m.text().startsWith('run client:'))) console.log(`[${name}] ${m.text()}`);
    });
    page.on('pageerror', (e) => console.log(`[${name}] page error: ${e instanceof Error ? e.message : String(e)}`));
    await page.goto(`${url}/#/contribute`);
    const problem = await webGpuProblem(page);
    if (problem) throw new Error(problem);
    const join = await page.waitForSelector('[data-testid="run-join"]:not([disabled])', { timeout: 60_000 });
    await join!.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') !== 'idle', { timeout: 60_000 });
  } catch (err) {
    await session.close();
    throw err;
  }
  return {
    session,
    // As JSON: puppeteer's BiDi deserializer returns an object met a second time in the result (WebDriver BiDi sends
    // only a reference to it) as undefined, so a view that shares one object between two fields would come back short.
    state: async () => JSON.parse(await page.evaluate(async () => JSON.stringify(await (globalThis as unknown as { tessera: { run: { state(): Promise<RunView> } } }).tessera.run.state()))) as RunView,
    close: () => session.close(),
  };
}

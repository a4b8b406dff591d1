/**
 * Debian's Firefox ESR with WebGPU, headless, driven by puppeteer-core over
 * WebDriver BiDi (Playwright cannot drive a stock Firefox build). WebGPU runs
 * through wgpu on Mesa's lavapipe, a CPU Vulkan driver, so no GPU is needed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
export const LAVAPIPE_ICD = process.env.LAVAPIPE_ICD ?? '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';

export const FIREFOX_PREFS: Record<string, unknown> = {
  // Without it there is no navigator.gpu at all.
  'dom.webgpu.enabled': true,
  // Firefox blocklists Mesa older than 25.0.4 (Debian 12 ships 22.3), and
  // then requestAdapter returns null.
  'gfx.webgpu.ignore-blocklist': true,
  // Keep a test run off the network.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

export interface FirefoxSession {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** A fresh profile (removed on close) so no earlier run's prefs or caches leak in. */
export async function launchFirefox(): Promise<FirefoxSession> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'tessera-firefox-'));
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      userDataDir,
      extraPrefsFirefox: FIREFOX_PREFS,
      env: { ...process.env, VK_ICD_FILENAMES: LAVAPIPE_ICD } as Record<string, string>,
      // A single kernel check on a CPU Vulkan driver can take a while.
      protocolTimeout: 10 * 60_000,
    });
    const page = await browser.newPage();
    const opened = browser;
    return {
      browser: opened,
      page,
      async close() {
        await opened.close().catch(() => opened.process()?.kill('SIGKILL'));
        await rm(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Why this page has no WebGPU adapter, in words, or null when it has one.
 * Names the likely cause, since each has a different fix.
 */
export async function webGpuProblem(page: Page): Promise<string | null> {
  const found = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return 'no-navigator-gpu';
    const adapter = await gpu.requestAdapter();
    return adapter ? 'ok' : 'no-adapter';
  });
  if (found === 'ok') return null;
  if (found === 'no-navigator-gpu') {
    return 'Firefox exposes no navigator.gpu: the pref dom.webgpu.enabled is off or this Firefox build lacks WebGPU.';
  }
  return (
    'Firefox has no WebGPU adapter (navigator.gpu.requestAdapter() returned null): check that ' +
    `mesa-vulkan-drivers is installed, that ${LAVAPIPE_ICD} exists (VK_ICD_FILENAMES), and that ` +
    'gfx.webgpu.ignore-blocklist is set (Firefox blocklists older Mesa).'
  );
}

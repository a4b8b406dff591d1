/**
 * Rewards end to end (issue 5): a tab with an injected Wallet Standard
 * wallet trains in the real run, connects through the wallet modal, binds
 * its key with a signed Sign-In-With-Solana message, and claims its points;
 * the tokens are read from the chain (LiteSVM inside the coordinator), and
 * after a coordinator restart the same history and balance show.
 */
import { expect, test } from '@playwright/test';
import { accountResponseSchema, rewardsConfigResponseSchema, type AccountResponse } from '../src/rewards/api';
import { buildApp, freshDir, openTab, startCoordinator, testConfig, waitForStep, type CoordinatorProcess, type Tab } from './run-harness';
import { injectTestWallet, TEST_WALLET_NAME, type TestWallet } from './test-wallet';

let coordinator: CoordinatorProcess | null = null;
let tab: Tab | null = null;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  await buildApp();
});

test.afterAll(async () => {
  await tab?.close().catch(() => {});
  await coordinator?.stop().catch(() => {});
});

async function account(url: string, wallet: string): Promise<AccountResponse> {
  return accountResponseSchema.parse(await (await fetch(`${url}/api/rewards/account?wallet=${wallet}`)).json());
}

test('connect, bind, train, claim: the chain pays exactly points × rate, and a restart keeps history and balance', async () => {
  test.setTimeout(600_000);
  const dir = freshDir('rewards');
  coordinator = await startCoordinator(dir, testConfig({ initMinClients: 1, globalBatch: { start: 2, end: 2, warmupTokens: 0 } }));
  let wallet: TestWallet | null = null;
  tab = await openTab(coordinator.url, 'w', async (context) => {
    wallet = await injectTestWallet(context, 7);
  });
  const w = wallet!;
  await waitForStep([tab], 2, 300_000);
  const page = tab.page;

  // Connect through the standard modal.
  await page.getByTestId('tab-rewards').click();
  await page.getByRole('button', { name: /select wallet/i }).click();
  await page.locator('.wallet-adapter-modal').getByRole('button', { name: new RegExp(TEST_WALLET_NAME) }).click();
  await expect(page.getByTestId('rewards-wallet')).toHaveText(`${w.address.slice(0, 6)}…${w.address.slice(-4)}`);

  // Bind: one readable SIWS message, signed by the wallet.
  await expect(page.getByTestId('rewards-bound')).toHaveText(/not bound/);
  await page.getByTestId('rewards-bind').click();
  await expect(page.getByTestId('rewards-bound')).toHaveText('is bound to this wallet.');
  expect(w.signed[0]).toContain(`${new URL(coordinator.url).host} wants you to sign in with your Solana account:\n${w.address}`);
  expect(w.signed[0]).toMatch(/Bind Tessera client [0-9a-f]{64} to this wallet for run [0-9a-f]{32}\./);

  // Points accrue round by round; claim them.
  await expect.poll(async () => (await account(coordinator!.url, w.address)).claimable, { timeout: 120_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId('rewards-claim')).toBeEnabled({ timeout: 30_000 });
  await page.getByTestId('rewards-claim').click();
  await expect(page.getByTestId('rewards-last-claim')).toBeVisible({ timeout: 60_000 });
  expect(w.signed[1]).toMatch(/^Tessera claim\nRun: [0-9a-f]{32}\nWallet: /);

  const config = rewardsConfigResponseSchema.parse(await (await fetch(`${coordinator.url}/api/rewards/config`)).json());
  const after = await account(coordinator.url, w.address);
  expect(after.claims).toHaveLength(1);
  const [claim] = after.claims;
  expect(claim.status).toBe('paid');
  expect(BigInt(claim.amount)).toBe(BigInt(claim.points) * BigInt(config.rate));
  expect(BigInt(after.tokenBalance)).toBe(BigInt(claim.points) * BigInt(config.rate));
  expect(after.claimed).toBe(claim.points);
  await expect(page.getByTestId('rewards-history').locator('tbody tr')).toHaveCount(1);

  // Restart the coordinator on the same files: the same history and balance come back, in the API and on the page.
  const { port } = coordinator;
  await coordinator.stop();
  coordinator = await startCoordinator(dir, null, port);
  const again = await account(coordinator.url, w.address);
  expect(again.claims).toEqual(after.claims);
  expect(again.tokenBalance).toBe(after.tokenBalance);
  await page.reload();
  await page.getByTestId('tab-rewards').click();
  await expect(page.getByTestId('rewards-history').locator('tbody tr')).toHaveCount(1, { timeout: 30_000 });
  const unit = 10n ** BigInt(config.decimals);
  const balance = BigInt(after.tokenBalance);
  const frac = (balance % unit).toString().padStart(config.decimals, '0').replace(/0+$/, '');
  await expect(page.getByTestId('rewards-balance')).toHaveText(frac ? `${balance / unit}.${frac}` : String(balance / unit));
});

/**
 * The peer mesh between two separate Chromium processes (src/net/peer-mesh.ts):
 * signals relayed through this test process as the coordinator's socket would
 * relay them, a WebRTC data channel over loopback with no STUN/TURN, 1 MiB
 * both ways at once arriving intact, a control message, and a payload whose
 * claimed hash is wrong rejected as an error while the connection stays up.
 *
 * e2e/peer-mesh.html is a test-only page: locally the shared dev server
 * serves it; under CI (where dist/ holds only the app) this spec builds it
 * alone and serves it with vite preview on a free port.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { chromium, expect, test, type Page } from '@playwright/test';
import type { PreviewServer } from 'vite';
import { buildPage, servePage } from '../bench/serve';
import { chromiumLaunchOptions } from './chromium';
import { patternBytes } from './peer-mesh-bytes';
import type { Received } from './peer-mesh-page';

const SITE_DIR = 'test-results/peer-mesh-site';
const MiB = 1024 * 1024;
const A = 'alice'; // the smaller id: it makes the offer
const B = 'bob';

let served: { server: PreviewServer; url: string } | null = null;

async function servePeerMeshPage(): Promise<{ server: PreviewServer; url: string }> {
  await buildPage(SITE_DIR, 'e2e/peer-mesh.html');
  const { server, url } = await servePage(SITE_DIR);
  return { server, url: `${url}e2e/peer-mesh.html` };
}

test.beforeAll(async () => {
  if (process.env.CI) served = await servePeerMeshPage();
});

test.afterAll(async () => {
  await served?.server.close();
});

const hashOf = (seed: number, size: number) => bytesToHex(sha256(patternBytes(seed, size)));

async function open(page: Page, id: string, relay: (from: string, to: string, data: unknown) => Promise<void>): Promise<void> {
  page.on('console', (m) => m.type() === 'warning' && console.log(`[${id}] ${m.text()}`));
  await page.exposeFunction('relaySignal', (to: string, data: unknown) => relay(id, to, data));
  await page.goto(served?.url ?? '/e2e/peer-mesh.html');
  await page.waitForFunction(() => 'peerMeshTest' in window, undefined, { timeout: 60_000 });
  await page.evaluate((id) => window.peerMeshTest!.start(id), id);
}

const receivedBy = (page: Page) => page.evaluate(() => window.peerMeshTest!.received()) as Promise<Received[]>;

async function waitForPayload(page: Page, hash: string): Promise<Received> {
  await page.waitForFunction((h) => window.peerMeshTest!.received().some((r) => r.hash === h), hash, { timeout: 60_000 });
  return (await receivedBy(page)).find((r) => r.hash === hash)!;
}

test('two browsers: signaling via the test, 1 MiB both ways intact, wrong hash rejected', async ({ page: pageA, baseURL }) => {
  test.setTimeout(180_000);
  const other = await chromium.launch(chromiumLaunchOptions());
  try {
    const pageB = await (await other.newContext({ baseURL })).newPage();
    const pages: Record<string, Page> = { [A]: pageA, [B]: pageB };
    // One chain per receiver keeps each peer's signals in the order they were sent.
    const chains: Record<string, Promise<void>> = { [A]: Promise.resolve(), [B]: Promise.resolve() };
    let relayed = 0;
    const relay = (from: string, to: string, data: unknown) => {
      relayed++;
      const target = pages[to];
      chains[to] = chains[to].then(() => target.evaluate(({ from, data }) => window.peerMeshTest!.signal(from, data), { from, data }));
      return chains[to];
    };
    await Promise.all([open(pageA, A, relay), open(pageB, B, relay)]);

    await pageB.evaluate((id) => window.peerMeshTest!.connect(id), A);
    await pageA.evaluate((id) => window.peerMeshTest!.connect(id), B);
    await pageA.waitForFunction((id) => window.peerMeshTest!.state(id) === 'connected', B, { timeout: 60_000 });
    await pageB.waitForFunction((id) => window.peerMeshTest!.state(id) === 'connected', A, { timeout: 60_000 });
    expect(relayed).toBeGreaterThanOrEqual(2); // at least the offer and the answer went through us
    const maxMessageSize = await pageA.evaluate((id) => window.peerMeshTest!.maxMessageSize(id), B);
    expect(maxMessageSize).toBeGreaterThan(0);

    // 1 MiB each way, at the same time.
    const [startA, startB] = await Promise.all([
      pageA.evaluate(({ to, size }) => window.peerMeshTest!.sendPattern(to, 1, size), { to: B, size: MiB }),
      pageB.evaluate(({ to, size }) => window.peerMeshTest!.sendPattern(to, 2, size), { to: A, size: MiB }),
    ]);
    const atB = await waitForPayload(pageB, hashOf(1, MiB));
    const atA = await waitForPayload(pageA, hashOf(2, MiB));
    for (const [got, from, seed] of [[atB, A, 1], [atA, B, 2]] as const) {
      expect(got.from).toBe(from);
      expect(got.length).toBe(MiB);
      expect(got.digest).toBe(hashOf(seed, MiB)); // WebCrypto's digest of the bytes that arrived
    }

    // A control message.
    await pageA.evaluate(({ to, hash }) => window.peerMeshTest!.sendWant(to, 3, hash), { to: B, hash: hashOf(1, MiB) });
    await pageB.waitForFunction(() => window.peerMeshTest!.messages().length > 0);
    expect(await pageB.evaluate(() => window.peerMeshTest!.messages())).toEqual([{ from: A, message: { type: 'want', step: 3, hash: hashOf(1, MiB) } }]);

    // 64 KiB under someone else's hash, then a good payload: the channel is
    // ordered and sends are sequential, so once the good one is in, the bad
    // one has been judged.
    const wrongClaim = hashOf(4, 64 * 1024);
    await pageA.evaluate(({ to }) => window.peerMeshTest!.sendPattern(to, 3, 64 * 1024, 4), { to: B });
    await pageA.evaluate(({ to }) => window.peerMeshTest!.sendPattern(to, 5, 10_000), { to: B });
    await waitForPayload(pageB, hashOf(5, 10_000));
    const receivedAtB = await receivedBy(pageB);
    expect(receivedAtB.map((r) => r.hash)).toEqual([hashOf(1, MiB), hashOf(5, 10_000)]);
    const errorsAtB = await pageB.evaluate(() => window.peerMeshTest!.errors());
    expect(errorsAtB).toEqual([expect.objectContaining({ code: 'HASH_MISMATCH', remoteId: A, hash: wrongClaim })]);
    expect(await pageA.evaluate(() => window.peerMeshTest!.errors())).toEqual([]);
    expect(await pageB.evaluate((id) => window.peerMeshTest!.state(id), A)).toBe('connected');

    // Closing one side closes the other, as a close rather than a failure.
    await pageA.evaluate(() => window.peerMeshTest!.destroy());
    await pageB.waitForFunction((id) => window.peerMeshTest!.state(id) === 'closed', A, { timeout: 30_000 });
    const statesAtB = await pageB.evaluate(() => window.peerMeshTest!.states());
    expect(statesAtB).toEqual([
      { remoteId: A, state: 'connecting' },
      { remoteId: A, state: 'connected' },
      { remoteId: A, state: 'closed' },
    ]);
    expect(await pageB.evaluate(() => window.peerMeshTest!.errors())).toHaveLength(1); // still only the hash mismatch

    const report = `maxMessageSize ${maxMessageSize} B; 1 MiB A→B ${atB.at - startA} ms, B→A ${atA.at - startB} ms (both at once)`;
    console.log(`[peer-mesh] ${report}`);
    test.info().annotations.push({ type: 'measured', description: report });
  } finally {
    await other.close();
  }
});

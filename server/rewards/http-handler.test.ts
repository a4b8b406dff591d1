import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { Keypair } from '@solana/web3.js';
import { accountResponseSchema, bindResponseSchema, claimResponseSchema, clientResponseSchema, nonceResponseSchema, rewardsConfigResponseSchema } from '../../src/rewards/api';
import { Coordinator } from '../coordinator';
import { createHttpServer } from '../http';
import { memoryLogger } from '../log';
import { startCoordinator } from '../start';
import { serverTestConfig } from '../test-helpers';
import { DOMAIN, makeTab, RATE, RewardsFixture, RUN_ID } from './test-fixture';

let fx: RewardsFixture;
let server: Server;
let url: string;

beforeAll(async () => {
  fx = await new RewardsFixture().open();
  const coordinator = Coordinator.open({ store: fx.store, config: serverTestConfig({ runId: RUN_ID }), now: fx.clock.now, log: fx.log });
  server = createHttpServer({ coordinator, store: fx.store, distDir: '/nonexistent-dist', dataDir: '/nonexistent-data', log: fx.log, rewards: fx.rewards });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fx.close();
  fx.destroy();
});

const get = (path: string) => fetch(url + path);
const post = (path: string, body: unknown, type = 'application/json') =>
  fetch(url + path, { method: 'POST', headers: { 'Content-Type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: string; message: string };
  expect(body.error).toBe(code);
  expect(body.message.length).toBeGreaterThan(10);
  expect(fx.log.records.some((r) => r.event === 'http-refused' && r.code === code)).toBe(true);
}

describe('rewards over HTTP', () => {
  it('serves the config and single-use nonces', async () => {
    const config = rewardsConfigResponseSchema.parse(await (await get('/api/rewards/config')).json());
    expect(config).toMatchObject({ runId: RUN_ID, domain: DOMAIN, chainId: 'solana:localnet', cluster: 'litesvm', decimals: 6, rate: RATE.toString() });
    expect(config.mint).toBe(fx.chain.mint().toBase58());
    const a = nonceResponseSchema.parse(await (await get('/api/rewards/nonce')).json());
    const b = nonceResponseSchema.parse(await (await get('/api/rewards/nonce')).json());
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(Date.parse(a.expiresAt) - Date.parse(a.issuedAt)).toBe(config.nonceTtlMs);
  });

  it('binds, reports the account, and pays a claim', async () => {
    const wallet = Keypair.generate();
    const tab = makeTab();
    fx.seedPoints(tab.clientId, 12);
    const bound = await post('/api/rewards/bind', fx.bindRequest(wallet, tab));
    expect(bound.status).toBe(200);
    expect(bindResponseSchema.parse(await bound.json())).toMatchObject({ clientId: tab.clientId, wallet: wallet.publicKey.toBase58(), alreadyBound: false });
    const client = clientResponseSchema.parse(await (await get(`/api/rewards/client?clientId=${tab.clientId}`)).json());
    expect(client).toEqual({ clientId: tab.clientId, wallet: wallet.publicKey.toBase58(), points: 12 });

    const paid = await post('/api/rewards/claim', fx.claimRequest(wallet, 12));
    expect(paid.status).toBe(200);
    const claim = claimResponseSchema.parse(await paid.json());
    expect(claim.amount).toBe((12n * RATE).toString());
    const account = accountResponseSchema.parse(await (await get(`/api/rewards/account?wallet=${wallet.publicKey.toBase58()}`)).json());
    expect(account).toMatchObject({ earned: 12, claimed: 12, claimable: 0, tokenBalance: (12n * RATE).toString(), clients: [tab.clientId] });
    expect(account.claims[0]).toMatchObject({ claimId: claim.claimId, status: 'paid', signature: claim.signature });
  });

  it('pays one of two claims for the same points sent at once; the other gets 409', async () => {
    const wallet = Keypair.generate();
    const tab = makeTab();
    fx.seedPoints(tab.clientId, 9);
    fx.rewards.bind(fx.bindRequest(wallet, tab));
    const [a, b] = await Promise.all([post('/api/rewards/claim', fx.claimRequest(wallet, 9)), post('/api/rewards/claim', fx.claimRequest(wallet, 9))]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    await expectError(a.status === 409 ? a : b, 409, 'insufficient-points');
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(9n * RATE);
  });

  it('answers bad requests with a clear error and changes nothing', async () => {
    const wallet = Keypair.generate();
    const tab = makeTab();
    const req = fx.bindRequest(wallet, tab);
    await expectError(await post('/api/rewards/bind', { ...req, clientSignature: undefined }), 400, 'bad-body');
    await expectError(await post('/api/rewards/bind', { ...req, extra: 1 }), 400, 'bad-body');
    await expectError(await post('/api/rewards/bind', '{"message": '), 400, 'bad-json');
    await expectError(await post('/api/rewards/bind', JSON.stringify(req), 'text/plain'), 415, 'unsupported-media-type');
    await expectError(await post('/api/rewards/bind', { ...req, message: 'x'.repeat(20_000) }), 413, 'body-too-large');
    await expectError(await post('/api/rewards/claim', { ...req }), 400, 'bad-body');
    await expectError(await get('/api/rewards/bind'), 405, 'method-not-allowed');
    await expectError(await get('/api/rewards/account?wallet=nope'), 400, 'bad-query');
    await expectError(await get('/api/rewards/nowhere'), 404, 'not-found');
    await expectError(await post('/api/rewards/bind', { ...req, walletSignature: req.walletSignature.slice(0, -2) + (req.walletSignature.endsWith('1') ? '22' : '11') }), 401, 'bad-wallet-signature');
    expect(fx.rewards.client(tab.clientId).wallet).toBeNull();
    // The nonce of the refused requests is still good.
    expect((await post('/api/rewards/bind', req)).status).toBe(200);
  });
});

describe('the coordinator process wiring', () => {
  it('starts the rewards service on LiteSVM beside the run database, with the listening host:port as domain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-start-'));
    const configPath = join(dir, 'run.json');
    writeFileSync(configPath, JSON.stringify({ ...serverTestConfig({ runId: RUN_ID }) }));
    const log = memoryLogger();
    const stop = await startCoordinator(['--port', '0', '--db', join(dir, 'run.sqlite'), '--config', configPath], log);
    try {
      const { port } = log.records.find((r) => r.event === 'listening') as unknown as { port: number };
      const config = rewardsConfigResponseSchema.parse(await (await fetch(`http://127.0.0.1:${port}/api/rewards/config`)).json());
      expect(config).toMatchObject({ domain: `127.0.0.1:${port}`, cluster: 'litesvm', runId: RUN_ID, rate: '1000000', decimals: 6 });
      expect(log.records.some((r) => r.event === 'rewards-ready')).toBe(true);
    } finally {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a new run without a runId a random one, and a restart keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-start-'));
    const runIdOf = async (db: string): Promise<string> => {
      const log = memoryLogger();
      const stop = await startCoordinator(['--port', '0', '--db', join(dir, db)], log);
      await stop();
      return (log.records.find((r) => r.event === 'listening') as unknown as { runId: string }).runId;
    };
    try {
      const first = await runIdOf('a.sqlite');
      expect(first).toMatch(/^[0-9a-f]{32}$/);
      expect(await runIdOf('a.sqlite')).toBe(first);
      expect(await runIdOf('b.sqlite')).not.toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

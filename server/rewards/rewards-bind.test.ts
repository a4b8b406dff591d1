import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keypair } from '@solana/web3.js';
import { bindMessageText, signClientBind } from '../../src/rewards/bind-message';
import { NONCE_TTL_MS } from './checks';
import { RewardsError } from './rewards-error';
import { makeTab, RewardsFixture, walletSign, type Tab } from './test-fixture';

let fx: RewardsFixture;
let wallet: Keypair;
let tab: Tab;

beforeEach(async () => {
  fx = await new RewardsFixture().open();
  wallet = Keypair.generate();
  tab = makeTab();
});
afterEach(() => {
  fx.close();
  fx.destroy();
});

/** The call is refused with `code`, and no binding exists afterwards. */
function expectRefused(call: () => unknown, code: string, before = 0): void {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(RewardsError);
  expect((caught as RewardsError).code).toBe(code);
  expect((caught as RewardsError).message.length).toBeGreaterThan(10);
  expect(fx.bindingCount()).toBe(before);
}

describe('binding a client key to a wallet', () => {
  it('binds with both signatures; the wallet then earns all the client points, older rounds included', () => {
    fx.seedPoints(tab.clientId, 10);
    const res = fx.rewards.bind(fx.bindRequest(wallet, tab));
    expect(res).toMatchObject({ clientId: tab.clientId, wallet: wallet.publicKey.toBase58(), alreadyBound: false });
    fx.seedPoints(tab.clientId, 10);
    expect(fx.rewards.client(tab.clientId)).toEqual({ clientId: tab.clientId, wallet: wallet.publicKey.toBase58(), points: 20 });
    expect(fx.rewards.balance(wallet.publicKey.toBase58())).toEqual({ earned: 20, claimed: 0, claimable: 20 });
    expect(fx.log.records.some((r) => r.event === 'reward-bind')).toBe(true);
  });

  it('lets several clients bind to one wallet and sums their points', () => {
    const other = makeTab();
    fx.seedPoints(tab.clientId, 10);
    fx.seedPoints(other.clientId, 7);
    fx.seedPoints(makeTab().clientId, 100);
    fx.rewards.bind(fx.bindRequest(wallet, tab));
    fx.rewards.bind(fx.bindRequest(wallet, other));
    expect(fx.rewards.balance(wallet.publicKey.toBase58()).earned).toBe(17);
  });

  it('accepts the same binding again (using the nonce) and refuses a second wallet for the client', () => {
    fx.rewards.bind(fx.bindRequest(wallet, tab));
    expect(fx.rewards.bind(fx.bindRequest(wallet, tab)).alreadyBound).toBe(true);
    expectRefused(() => fx.rewards.bind(fx.bindRequest(Keypair.generate(), tab)), 'client-bound-elsewhere', 1);
    expect(fx.rewards.client(tab.clientId).wallet).toBe(wallet.publicKey.toBase58());
  });

  it('refuses a forged wallet signature', () => {
    const req = fx.bindRequest(wallet, tab);
    const forged = walletSign(wallet, req.message + 'x');
    expectRefused(() => fx.rewards.bind({ ...req, walletSignature: forged }), 'bad-wallet-signature');
  });

  it("refuses another wallet's signature over a message naming this wallet", () => {
    const req = fx.bindRequest(wallet, tab);
    expectRefused(() => fx.rewards.bind({ ...req, walletSignature: walletSign(Keypair.generate(), req.message) }), 'bad-wallet-signature');
  });

  it('refuses a request whose walletAddress is not the message address', () => {
    const thief = Keypair.generate();
    const req = fx.bindRequest(wallet, tab);
    expectRefused(() => fx.rewards.bind({ ...req, walletAddress: thief.publicKey.toBase58(), walletSignature: walletSign(thief, req.message) }), 'wallet-mismatch');
  });

  it("refuses a missing, forged or other tab's client signature (nobody binds someone else's client)", () => {
    const req = fx.bindRequest(wallet, tab);
    expectRefused(() => fx.rewards.bind({ ...req, clientSignature: '00'.repeat(64) }), 'bad-client-signature');
    const other = makeTab();
    expectRefused(() => fx.rewards.bind({ ...req, clientSignature: Buffer.from(signClientBind(req.message, other.secretKey)).toString('hex') }), 'bad-client-signature');
    // A thief's own wallet signs a message naming the victim's client id; only the victim's tab key could sign it.
    const thief = Keypair.generate();
    const stolen = fx.bindRequest(thief, tab);
    expectRefused(() => fx.rewards.bind({ ...stolen, clientSignature: Buffer.from(signClientBind(stolen.message, other.secretKey)).toString('hex') }), 'bad-client-signature');
  });

  it('refuses a statement for another client than the request names', () => {
    const other = makeTab();
    const req = fx.bindRequest(wallet, other);
    expectRefused(() => fx.rewards.bind({ ...req, clientId: tab.clientId, clientSignature: Buffer.from(signClientBind(req.message, tab.secretKey)).toString('hex') }), 'wrong-client');
  });

  it('refuses a replayed nonce', () => {
    const req = fx.bindRequest(wallet, tab);
    fx.rewards.bind(req);
    expectRefused(() => fx.rewards.bind(req), 'nonce-used', 1);
    // The same nonce in a new message for another client is just as used.
    const other = makeTab();
    const nonce = req.message.match(/Nonce: (\w+)/)![1];
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, other, { nonce })), 'nonce-used', 1);
  });

  it('refuses a nonce this server never issued', () => {
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { nonce: 'f'.repeat(32) })), 'nonce-unknown');
  });

  it('refuses an expired message, and an expired nonce in an unexpired message', () => {
    const req = fx.bindRequest(wallet, tab);
    fx.clock.advance(NONCE_TTL_MS + 1);
    expectRefused(() => fx.rewards.bind(req), 'message-expired');
    const old = fx.rewards.issueNonce().nonce;
    fx.clock.advance(NONCE_TTL_MS + 1);
    const stale = fx.bindRequest(wallet, tab, { nonce: old, issuedAt: new Date(fx.clock.now()).toISOString(), expirationTime: new Date(fx.clock.now() + 60_000).toISOString() });
    expectRefused(() => fx.rewards.bind(stale), 'nonce-expired');
  });

  it('refuses Issued At in the future beyond the clock skew, and a validity window that is too long', () => {
    const t = fx.clock.now();
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { issuedAt: new Date(t + 10 * 60_000).toISOString(), expirationTime: new Date(t + 12 * 60_000).toISOString() })), 'issued-in-future');
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { expirationTime: new Date(t + 3 * 3600_000).toISOString() })), 'bad-time-window');
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { issuedAt: new Date(t - 30 * 60_000).toISOString() })), 'issued-too-old');
  });

  it('refuses a wrong domain, a URI on another domain, a wrong cluster and a wrong run', () => {
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { domain: 'evil.example:8080', uri: 'http://evil.example:8080/' })), 'wrong-domain');
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { uri: 'http://evil.example/' })), 'wrong-domain');
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { chainId: 'solana:mainnet' })), 'wrong-cluster');
    expectRefused(() => fx.rewards.bind(fx.bindRequest(wallet, tab, { runId: 'f'.repeat(32) })), 'wrong-run');
  });

  it('refuses a text that is not exactly the SIWS form, even when both keys signed it', () => {
    const text = bindMessageText(fx.bindFields(wallet, tab)) + '\n\n';
    const req = {
      message: text,
      walletAddress: wallet.publicKey.toBase58(),
      walletSignature: walletSign(wallet, text),
      clientId: tab.clientId,
      clientSignature: Buffer.from(signClientBind(text, tab.secretKey)).toString('hex'),
    };
    expectRefused(() => fx.rewards.bind(req), 'bad-message');
  });

  it('leaves a refused nonce unused: the genuine request with it still works', () => {
    const req = fx.bindRequest(wallet, tab);
    expectRefused(() => fx.rewards.bind({ ...req, clientSignature: '00'.repeat(64) }), 'bad-client-signature');
    expect(fx.rewards.bind(req).alreadyBound).toBe(false);
  });
});

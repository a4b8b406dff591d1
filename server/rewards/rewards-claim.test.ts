import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keypair } from '@solana/web3.js';
import type { ClaimRequest } from '../../src/rewards/api';
import { NONCE_TTL_MS } from './checks';
import { ChainTransactionError, type ChainClient } from '../chain/chain-client';
import { Rewards } from './rewards';
import { RewardsError } from './rewards-error';
import { DOMAIN, makeTab, RATE, RewardsFixture, RUN_ID, SUPPLY, walletSign } from './test-fixture';

let fx: RewardsFixture;
let wallet: Keypair;

/** A wallet bound to one client that has earned `points`. */
function boundWallet(points: number): Keypair {
  const w = Keypair.generate();
  const tab = makeTab();
  fx.seedPoints(tab.clientId, points);
  fx.rewards.bind(fx.bindRequest(w, tab));
  return w;
}

beforeEach(async () => {
  fx = await new RewardsFixture().open();
  wallet = boundWallet(100);
});
afterEach(() => {
  fx.close();
  fx.destroy();
});

const treasury = () => fx.chain.tokenBalance(fx.chain.treasury().owner);

/** The claim is refused with `code`; no tokens move and nothing is claimed. */
async function expectRefused(req: ClaimRequest, code: string): Promise<void> {
  const walletBefore = await fx.chain.tokenBalance(wallet.publicKey);
  const treasuryBefore = await treasury();
  const claimsBefore = fx.rewards.claims().length;
  const claimedBefore = fx.rewards.balance(wallet.publicKey.toBase58()).claimed;
  const error = await fx.rewards.claim(req).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(RewardsError);
  expect((error as RewardsError).code).toBe(code);
  expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(walletBefore);
  expect(await treasury()).toBe(treasuryBefore);
  expect(fx.rewards.claims().length).toBe(claimsBefore);
  expect(fx.rewards.balance(wallet.publicKey.toBase58()).claimed).toBe(claimedBefore);
}

/** Every paid claim's amount is its points × rate, and the tokens that left the treasury are their sum. */
async function expectLedgerMatchesChain(): Promise<void> {
  const paid = fx.rewards.claims().filter((c) => c.status === 'paid');
  for (const c of paid) expect(c.amount).toBe(BigInt(c.points) * RATE);
  const points = paid.reduce((sum, c) => sum + BigInt(c.points), 0n);
  expect(SUPPLY - (await treasury())).toBe(points * RATE);
}

describe('claims', () => {
  it('pays exactly points × rate in SPL tokens, with the claim id in the memo', async () => {
    const res = await fx.rewards.claim(fx.claimRequest(wallet, 40));
    expect(res.points).toBe(40);
    expect(res.amount).toBe((40n * RATE).toString());
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(40n * RATE);
    expect(await treasury()).toBe(SUPPLY - 40n * RATE);
    expect(await fx.chain.findClaimPayment(res.claimId)).toBe(res.signature);
    expect(res.explorerUrl).toBeNull();

    const account = await fx.rewards.account(wallet.publicKey.toBase58());
    expect(account).toMatchObject({ earned: 100, claimed: 40, claimable: 60, rate: RATE.toString(), tokenBalance: (40n * RATE).toString(), cluster: 'litesvm', chainId: 'solana:localnet' });
    expect(account.claims).toEqual([expect.objectContaining({ claimId: res.claimId, points: 40, status: 'paid', signature: res.signature })]);
    await expectLedgerMatchesChain();
  });

  it('pays the rest later, and points earned after a claim become claimable', async () => {
    await fx.rewards.claim(fx.claimRequest(wallet, 30));
    await fx.rewards.claim(fx.claimRequest(wallet, 70));
    expect(fx.rewards.balance(wallet.publicKey.toBase58())).toEqual({ earned: 100, claimed: 100, claimable: 0 });
    await expectRefused(fx.claimRequest(wallet, 1), 'insufficient-points');
    const [client] = (await fx.rewards.account(wallet.publicKey.toBase58())).clients;
    fx.seedPoints(client, 5);
    await fx.rewards.claim(fx.claimRequest(wallet, 5));
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(105n * RATE);
    await expectLedgerMatchesChain();
  });

  it('refuses an amount above what is claimable, and a wallet with no binding', async () => {
    await expectRefused(fx.claimRequest(wallet, 101), 'insufficient-points');
    const other = Keypair.generate();
    const req = fx.claimRequest(wallet, 1);
    await expectRefused({ ...req, walletAddress: other.publicKey.toBase58(), signature: walletSign(other, req.message) }, 'wallet-mismatch');
    const stranger = Keypair.generate();
    const error = await fx.rewards.claim(fx.claimRequest(stranger, 1)).catch((e: RewardsError) => e);
    expect((error as RewardsError).code).toBe('insufficient-points');
    expect(await fx.chain.tokenBalance(stranger.publicKey)).toBe(0n);
  });

  it('refuses a forged signature', async () => {
    const req = fx.claimRequest(wallet, 10);
    await expectRefused({ ...req, signature: walletSign(wallet, req.message.replace('Points: 10', 'Points: 11')) }, 'bad-wallet-signature');
  });

  it("refuses another wallet's signature", async () => {
    const req = fx.claimRequest(wallet, 10);
    await expectRefused({ ...req, signature: walletSign(Keypair.generate(), req.message) }, 'bad-wallet-signature');
  });

  it('refuses a replayed nonce (the same signed claim sent twice)', async () => {
    const req = fx.claimRequest(wallet, 10);
    await fx.rewards.claim(req);
    await expectRefused(req, 'nonce-used');
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(10n * RATE);
    await expectLedgerMatchesChain();
  });

  it('refuses an expired message', async () => {
    const req = fx.claimRequest(wallet, 10);
    fx.clock.advance(NONCE_TTL_MS);
    await expectRefused(req, 'message-expired');
  });

  it('refuses a wrong domain, a wrong cluster and a wrong run', async () => {
    await expectRefused(fx.claimRequest(wallet, 10, { domain: 'evil.example' }), 'wrong-domain');
    await expectRefused(fx.claimRequest(wallet, 10, { cluster: 'solana:devnet' }), 'wrong-cluster');
    await expectRefused(fx.claimRequest(wallet, 10, { runId: 'e'.repeat(32) }), 'wrong-run');
  });

  it('refuses a text that is not exactly the claim format', async () => {
    const req = fx.claimRequest(wallet, 10);
    const message = req.message + '\n';
    await expectRefused({ ...req, message, signature: walletSign(wallet, message) }, 'bad-message');
  });

  it('pays only one of two claims sent at once for the same points', async () => {
    const a = fx.claimRequest(wallet, 80);
    const b = fx.claimRequest(wallet, 80);
    const results = await Promise.allSettled([fx.rewards.claim(a), fx.rewards.claim(b)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toBeInstanceOf(RewardsError);
    expect((refused[0].reason as RewardsError).code).toBe('insufficient-points');
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(80n * RATE);
    expect(fx.rewards.claims()).toHaveLength(1);
    await expectLedgerMatchesChain();
  });

  it('pays every claim of a burst exactly while points last (never more than earned)', async () => {
    const burst = Array.from({ length: 8 }, () => fx.claimRequest(wallet, 30));
    const results = await Promise.allSettled(burst.map((r) => fx.rewards.claim(r)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(90n * RATE);
    expect(fx.rewards.balance(wallet.publicKey.toBase58())).toEqual({ earned: 100, claimed: 90, claimable: 10 });
    await expectLedgerMatchesChain();
  });
});

describe('chain failures and recovery', () => {
  it('frees the points when the treasury cannot pay, and moves nothing', async () => {
    fx.close();
    fx.destroy();
    // A run whose rate exceeds the whole supply: the treasury refuses before sending.
    fx = await new RewardsFixture().open(SUPPLY);
    const poor = Keypair.generate();
    const tab = makeTab();
    fx.seedPoints(tab.clientId, 2);
    fx.rewards.bind(fx.bindRequest(poor, tab));
    const error = await fx.rewards.claim(fx.claimRequest(poor, 2)).catch((e: RewardsError) => e);
    expect(error).toBeInstanceOf(RewardsError);
    expect((error as RewardsError).code).toBe('treasury-empty');
    expect(await fx.chain.tokenBalance(poor.publicKey)).toBe(0n);
    expect(fx.rewards.claims().map((c) => c.status)).toEqual(['failed']);
    expect(fx.rewards.balance(poor.publicKey.toBase58()).claimable).toBe(2);
  });

  it('settles pending claims on restart from the chain: paid when its memo is there, failed when not', async () => {
    // Simulates a crash between recording and paying (two pending claims), one of which had been paid on chain.
    const paidId = 'a'.repeat(32);
    const lostId = 'b'.repeat(32);
    for (const [claimId, points] of [[paidId, 10], [lostId, 20]] as const) {
      fx.db
        .prepare("INSERT INTO reward_claims (claim_id, run_id, wallet, points, amount, status, nonce, message, wallet_signature, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, 'm', 's', ?)")
        .run(claimId, fx.rewards.runId, wallet.publicKey.toBase58(), points, (BigInt(points) * RATE).toString(), claimId, fx.clock.now());
    }
    const { signature } = await fx.chain.payClaim({ claimId: paidId, wallet: wallet.publicKey, amount: 10n * RATE });
    expect(fx.rewards.balance(wallet.publicKey.toBase58()).claimable).toBe(70);
    fx.close();
    await fx.open();
    expect(await fx.rewards.resolvePending()).toEqual({ paid: 1, failed: 1, pending: 0 });
    const byId = new Map(fx.rewards.claims().map((c) => [c.claimId, c]));
    expect(byId.get(paidId)).toMatchObject({ status: 'paid', signature });
    expect(byId.get(lostId)?.status).toBe('failed');
    expect(fx.rewards.balance(wallet.publicKey.toBase58()).claimable).toBe(90);
    await expectLedgerMatchesChain();
  });

  it('keeps bindings, claims, balances and used nonces across a restart', async () => {
    const req = fx.claimRequest(wallet, 25);
    const res = await fx.rewards.claim(req);
    fx.close();
    await fx.open();
    const account = await fx.rewards.account(wallet.publicKey.toBase58());
    expect(account).toMatchObject({ earned: 100, claimed: 25, claimable: 75, tokenBalance: (25n * RATE).toString() });
    expect(account.clients).toHaveLength(1);
    expect(account.claims.map((c) => [c.claimId, c.status, c.signature])).toEqual([[res.claimId, 'paid', res.signature]]);
    await expectRefused(req, 'nonce-used');
    await fx.rewards.claim(fx.claimRequest(wallet, 75));
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(100n * RATE);
    await expectLedgerMatchesChain();
  });

  /** The fixture's service over a chain whose payClaim is replaced (same database, same real ledger underneath). */
  function rewardsWithPayClaim(payClaim: ChainClient['payClaim']): Rewards {
    const chain: ChainClient = Object.assign(Object.create(fx.chain) as ChainClient, { payClaim });
    return new Rewards({ db: fx.db, chain, runId: RUN_ID, domain: DOMAIN, tokensPerPoint: RATE, now: fx.clock.now });
  }

  it('frees the points when the chain refuses the transaction', async () => {
    const failing = rewardsWithPayClaim(async () => {
      throw new ChainTransactionError('refused', ['Program log: Error: boom'], 'sig', 'failed');
    });
    const error = await failing.claim(fx.claimRequest(wallet, 10)).catch((e: RewardsError) => e);
    expect((error as RewardsError).code).toBe('chain-failed');
    expect(fx.rewards.claims().map((c) => c.status)).toEqual(['failed']);
    expect(fx.rewards.balance(wallet.publicKey.toBase58()).claimable).toBe(100);
    await expectLedgerMatchesChain();
  });

  it('keeps an unconfirmed payment pending (its points held) until the chain says whether it landed', async () => {
    // One payment landed but its confirmation was lost; the other never reached the ledger.
    const landed = rewardsWithPayClaim(async (payment) => {
      await fx.chain.payClaim(payment);
      throw new ChainTransactionError('not confirmed', [], null, 'unknown');
    });
    const lost = rewardsWithPayClaim(async () => {
      throw new ChainTransactionError('not confirmed', [], null, 'unknown');
    });
    for (const service of [landed, lost]) {
      const error = await service.claim(fx.claimRequest(wallet, 30)).catch((e: RewardsError) => e);
      expect((error as RewardsError).code).toBe('payment-unconfirmed');
    }
    expect(fx.rewards.claims().map((c) => c.status)).toEqual(['pending', 'pending']);
    expect(fx.rewards.balance(wallet.publicKey.toBase58())).toEqual({ earned: 100, claimed: 60, claimable: 40 });
    await expectRefused(fx.claimRequest(wallet, 41), 'insufficient-points');

    expect(await fx.rewards.resolvePending()).toEqual({ paid: 1, failed: 1, pending: 0 });
    expect(fx.rewards.claims().map((c) => c.status)).toEqual(['paid', 'failed']);
    expect(fx.rewards.balance(wallet.publicKey.toBase58()).claimable).toBe(70);
    expect(await fx.chain.tokenBalance(wallet.publicKey)).toBe(30n * RATE);
    await expectLedgerMatchesChain();
  });

  it('refuses to reopen a run with another rate', async () => {
    fx.close();
    await expect(fx.open(RATE + 1n)).rejects.toThrow(/fixed per run/);
    fx.chain.close();
    fx.store.close();
    fx.db.close();
    await fx.open();
  });
});

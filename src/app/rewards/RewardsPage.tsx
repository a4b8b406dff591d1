/**
 * Rewards: connect a Wallet Standard wallet (Phantom, Solflare, Backpack, …)
 * through the standard modal, bind this tab's key to it with one readable
 * Sign-In-With-Solana message, watch the points accrue, and claim them as
 * SPL tokens; the claim history comes from the coordinator and is cached in
 * IndexedDB.
 */
import { WalletProvider, useWallet } from '@solana/wallet-adapter-react';
import { WalletModalProvider, WalletMultiButton } from '@solana/wallet-adapter-react-ui';
import { bytesToHex } from '@noble/hashes/utils.js';
import bs58 from 'bs58';
import { useCallback, useEffect, useState } from 'react';
import type { AccountResponse, ClaimResponse, RewardsConfigResponse } from '../../rewards/api';
import { bindMessageText, bindSignInInput, signClientBind } from '../../rewards/bind-message';
import { claimMessageText } from '../../rewards/claim-message';
import { loadIdentity } from '../../run-client/identity';
import { DASH, errorMessage, formatInt } from '../format';
import { Stat } from '../train/TrainStats';
import { cacheAccount, cachedAccount } from './account-cache';
import { rewardsApi } from './rewards-api';

const POLL_MS = 3000;

export function RewardsPage() {
  // wallets={[]}: Wallet Standard wallets announce themselves; no adapter list to keep.
  return (
    <WalletProvider wallets={[]} autoConnect>
      <WalletModalProvider>
        <Rewards />
      </WalletModalProvider>
    </WalletProvider>
  );
}

/** Base units → "12.345678" with the mint's decimals, exactly (bigint). */
function formatTokens(base: string | undefined, decimals: number): string {
  if (base === undefined) return DASH;
  const v = BigInt(base);
  const unit = 10n ** BigInt(decimals);
  const frac = (v % unit).toString().padStart(decimals, '0').replace(/0+$/, '');
  return frac ? `${v / unit}.${frac}` : String(v / unit);
}

function useRewards(wallet: string | null) {
  const [config, setConfig] = useState<RewardsConfigResponse | null>(null);
  const [account, setAccount] = useState<AccountResponse | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    rewardsApi.config().then(setConfig, (e: unknown) => setError(errorMessage(e)));
  }, []);

  const refresh = useCallback(async () => {
    if (!wallet) return;
    try {
      const a = await rewardsApi.account(wallet);
      setAccount(a);
      setError(null);
      await cacheAccount(a);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [wallet]);

  useEffect(() => {
    setAccount(null);
    if (!wallet) return;
    void cachedAccount(wallet).then((a) => a && setAccount((cur) => cur ?? a));
    void refresh();
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [wallet, refresh]);

  return { config, account, error, refresh };
}

function Rewards() {
  const { publicKey, signMessage, signIn } = useWallet();
  const wallet = publicKey?.toBase58() ?? null;
  const { config, account, error, refresh } = useRewards(wallet);
  const [clientId, setClientId] = useState<string | null>(null);
  const [busy, setBusy] = useState<'bind' | 'claim' | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [lastClaim, setLastClaim] = useState<ClaimResponse | null>(null);

  useEffect(() => {
    void loadIdentity().then((k) => setClientId(bytesToHex(k.publicKey)));
  }, []);

  const bound = clientId !== null && account?.clients.includes(clientId) === true;

  const bind = async () => {
    if (!wallet || !config || !clientId) return;
    setBusy('bind');
    setActionError(null);
    try {
      const identity = await loadIdentity();
      const n = await rewardsApi.nonce();
      const fields = { domain: location.host, address: wallet, clientId, runId: config.runId, uri: location.origin + '/', chainId: config.chainId, nonce: n.nonce, issuedAt: n.issuedAt, expirationTime: n.expiresAt };
      let message = bindMessageText(fields);
      let walletSignature: Uint8Array;
      if (signIn) {
        // signIn shows the wallet's own Sign-In screen; with every field given, it signs exactly our text.
        const out = await signIn(bindSignInInput(fields));
        message = new TextDecoder().decode(out.signedMessage);
        walletSignature = out.signature;
      } else if (signMessage) {
        walletSignature = await signMessage(new TextEncoder().encode(message));
      } else {
        throw new Error('this wallet can sign neither a Sign-In message nor a plain message');
      }
      const clientSignature = bytesToHex(signClientBind(message, identity.secretKey));
      await rewardsApi.bind({ message, walletAddress: wallet, walletSignature: bs58.encode(walletSignature), clientId, clientSignature });
      await refresh();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const claim = async () => {
    if (!wallet || !config || !account || !signMessage) return;
    setBusy('claim');
    setActionError(null);
    try {
      const n = await rewardsApi.nonce();
      const message = claimMessageText({
        runId: config.runId,
        wallet,
        points: account.claimable,
        nonce: n.nonce,
        issuedAt: n.issuedAt,
        expirationTime: n.expiresAt,
        domain: location.host,
        cluster: config.chainId,
      });
      const signature = await signMessage(new TextEncoder().encode(message));
      setLastClaim(await rewardsApi.claim({ message, walletAddress: wallet, signature: bs58.encode(signature) }));
      await refresh();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const decimals = config?.decimals ?? 0;
  return (
    <section>
      <h2 className="page-title">Rewards</h2>
      <p className="page-lead">
        Connect a Solana wallet, bind this tab to it once by signing a readable message, and claim the points this tab earns
        as tokens. A tab trains without a wallet too; its points wait for a binding.
      </p>
      <div className="form-actions">
        <WalletMultiButton />
      </div>
      {(error || actionError) && (
        <div className="alert" role="alert" data-testid="rewards-error">
          {actionError ?? error}
        </div>
      )}
      {config && (
        <p className="muted small" data-testid="rewards-config">
          Cluster {config.cluster} · mint <code>{config.mint}</code> · {formatTokens(config.rate, decimals)} tokens per point
        </p>
      )}
      {wallet && (
        <>
          <div className="stats">
            <Stat label="Wallet">
              <code data-testid="rewards-wallet">{`${wallet.slice(0, 6)}…${wallet.slice(-4)}`}</code>
            </Stat>
            <Stat label="Points earned">
              <span data-testid="rewards-earned">{formatInt(account?.earned)}</span>
            </Stat>
            <Stat label="Claimed">
              <span data-testid="rewards-claimed">{formatInt(account?.claimed)}</span>
            </Stat>
            <Stat label="Claimable">
              <span data-testid="rewards-claimable">{formatInt(account?.claimable)}</span>
            </Stat>
            <Stat label="Token balance">
              <span data-testid="rewards-balance">{formatTokens(account?.tokenBalance, decimals)}</span>
            </Stat>
          </div>
          <div className="card">
            <h2>This tab</h2>
            <p className="small">
              Client <code>{clientId ? `${clientId.slice(0, 16)}…` : DASH}</code>{' '}
              <span data-testid="rewards-bound">{bound ? 'is bound to this wallet.' : 'is not bound to this wallet yet.'}</span>
            </p>
            <div className="form-actions">
              <button type="button" className="primary" disabled={bound || busy !== null || !config} onClick={() => void bind()} data-testid="rewards-bind">
                {busy === 'bind' ? 'Waiting for the wallet…' : 'Bind this tab'}
              </button>
              <button
                type="button"
                className="primary"
                disabled={!account || account.claimable < 1 || busy !== null || !signMessage}
                onClick={() => void claim()}
                data-testid="rewards-claim"
              >
                {busy === 'claim' ? 'Claiming…' : `Claim ${formatInt(account?.claimable ?? 0)} points`}
              </button>
            </div>
            {lastClaim && (
              <p className="small" data-testid="rewards-last-claim">
                Paid {formatTokens(lastClaim.amount, decimals)} tokens for {formatInt(lastClaim.points)} points · transaction{' '}
                <ClaimLink signature={lastClaim.signature} url={lastClaim.explorerUrl} />
              </p>
            )}
          </div>
          <ClaimHistory account={account} decimals={decimals} />
        </>
      )}
    </section>
  );
}

function ClaimLink({ signature, url }: { signature: string | null; url: string | null }) {
  if (!signature) return <span className="muted">{DASH}</span>;
  const short = `${signature.slice(0, 10)}…`;
  return url ? (
    <a href={url} target="_blank" rel="noreferrer">
      <code>{short}</code>
    </a>
  ) : (
    <code title={signature}>{short}</code>
  );
}

function ClaimHistory({ account, decimals }: { account: AccountResponse | null; decimals: number }) {
  const claims = account?.claims ?? [];
  return (
    <div className="card">
      <h2>Claims</h2>
      {claims.length === 0 ? (
        <p className="muted small">No claims yet.</p>
      ) : (
        <table className="data" data-testid="rewards-history">
          <thead>
            <tr>
              <th>When</th>
              <th>Points</th>
              <th>Tokens</th>
              <th>Status</th>
              <th>Transaction</th>
            </tr>
          </thead>
          <tbody>
            {claims.map((c) => (
              <tr key={c.claimId} data-status={c.status}>
                <td>{new Date(c.createdAt).toLocaleString()}</td>
                <td>{formatInt(c.points)}</td>
                <td>{formatTokens(c.amount, decimals)}</td>
                <td>{c.status}</td>
                <td>
                  <ClaimLink signature={c.signature} url={c.explorerUrl} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

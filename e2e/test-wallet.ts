/**
 * A Wallet Standard wallet injected into a page for tests (no wallet extension runs headless):
 * it registers itself through the standard's window events, and signs
 * messages through a function the test exposes, with a key only the test
 * process holds. It signs no transactions (claims need only signMessage).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { BrowserContext } from '@playwright/test';
import bs58 from 'bs58';

export interface TestWallet {
  address: string;
  publicKey: Uint8Array;
  /** Every message the wallet signed, as text. */
  signed: string[];
}

export const TEST_WALLET_NAME = 'Tessera Test Wallet';

/** Runs in the page before any of its scripts. */
function registerInPage([name, address, publicKey]: [string, string, number[]]): void {
  type Listener = (props: { accounts: unknown[] }) => void;
  const listeners = new Set<Listener>();
  const chains = ['solana:localnet', 'solana:devnet', 'solana:testnet', 'solana:mainnet'];
  const account = {
    address,
    publicKey: Uint8Array.from(publicKey),
    chains,
    features: ['solana:signMessage'],
  };
  const sign = (window as unknown as { __testWalletSign: (m: number[]) => Promise<number[]> }).__testWalletSign;
  const wallet = {
    version: '1.0.0',
    name,
    icon: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiLz4=',
    chains,
    accounts: [] as (typeof account)[],
    features: {
      'standard:connect': {
        version: '1.0.0',
        connect: async () => {
          wallet.accounts = [account];
          for (const l of listeners) l({ accounts: wallet.accounts });
          return { accounts: wallet.accounts };
        },
      },
      'standard:disconnect': {
        version: '1.0.0',
        disconnect: async () => {
          wallet.accounts = [];
          for (const l of listeners) l({ accounts: [] });
        },
      },
      'standard:events': {
        version: '1.0.0',
        on: (_event: string, listener: Listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      },
      'solana:signMessage': {
        version: '1.0.0',
        signMessage: async (...inputs: { message: Uint8Array }[]) =>
          Promise.all(inputs.map(async ({ message }) => ({ signedMessage: message, signature: Uint8Array.from(await sign(Array.from(message))) }))),
      },
      // The adapter lists only wallets that can sign transactions; this one refuses to.
      'solana:signTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: async () => {
          throw new Error('the test wallet signs no transactions');
        },
      },
    },
  };
  const register = ({ register }: { register: (w: unknown) => void }) => register(wallet);
  window.addEventListener('wallet-standard:app-ready', (e) => register((e as CustomEvent).detail));
  window.dispatchEvent(new CustomEvent('wallet-standard:register-wallet', { detail: register }));
}

/** Injects the wallet into every page of the context. */
export async function injectTestWallet(context: BrowserContext, seed: number): Promise<TestWallet> {
  const secretKey = new Uint8Array(32).fill(seed);
  const publicKey = ed25519.getPublicKey(secretKey);
  const wallet: TestWallet = { address: bs58.encode(publicKey), publicKey, signed: [] };
  await context.exposeFunction('__testWalletSign', (message: number[]) => {
    const bytes = Uint8Array.from(message);
    wallet.signed.push(new TextDecoder().decode(bytes));
    return Array.from(ed25519.sign(bytes, secretKey));
  });
  await context.addInitScript(registerInPage, [TEST_WALLET_NAME, wallet.address, Array.from(publicKey)] as [string, string, number[]]);
  return wallet;
}

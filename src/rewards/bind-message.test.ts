import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import bs58 from 'bs58';
import { createSignInMessageText, parseSignInMessageText, verifySignIn } from '@solana/wallet-standard-util';
import { bindMessageText, bindSignInInput, parseBindMessage, signClientBind, verifyClientBind, type BindMessageFields } from './bind-message';
import { RewardsMessageError } from './message-error';

const { secretKey, publicKey } = ed25519.keygen();
const walletKeys = ed25519.keygen();

const fields: BindMessageFields = {
  domain: 'localhost:8080',
  address: bs58.encode(walletKeys.publicKey),
  clientId: Buffer.from(publicKey).toString('hex'),
  runId: '0123456789abcdef0123456789abcdef',
  uri: 'http://localhost:8080/#/rewards',
  chainId: 'solana:localnet',
  nonce: 'a'.repeat(32),
  issuedAt: '2025-01-01T12:00:00.000Z',
  expirationTime: '2025-01-01T12:05:00.000Z',
};

describe('binding message', () => {
  it('is a SIWS message naming the client and run, and parses back to the same fields', () => {
    const text = bindMessageText(fields);
    expect(text).toContain('localhost:8080 wants you to sign in with your Solana account:\n' + fields.address);
    expect(text).toContain(`Bind Tessera client ${fields.clientId} to this wallet for run ${fields.runId}.`);
    expect(text).toContain('\nChain ID: solana:localnet\nNonce: ' + fields.nonce);
    expect(parseBindMessage(text)).toEqual(fields);
    expect(createSignInMessageText(bindSignInInput(fields))).toBe(text);
  });

  it('is what verifySignIn accepts for a wallet signIn of the same input', () => {
    const text = bindMessageText(fields);
    const signedMessage = new TextEncoder().encode(text);
    const output = {
      account: { address: fields.address, publicKey: walletKeys.publicKey, chains: [], features: [] },
      signedMessage,
      signature: ed25519.sign(signedMessage, walletKeys.secretKey),
    };
    expect(verifySignIn(bindSignInInput(fields), output)).toBe(true);
    expect(verifySignIn({ ...bindSignInInput(fields), nonce: 'b'.repeat(32) }, output)).toBe(false);
  });

  it('refuses texts that do not round-trip or miss a field', () => {
    const text = bindMessageText(fields);
    const bad = [
      text + '\n',
      text.replace('Nonce: ', 'Nonce:  '),
      text.replace('\nVersion: 1', '\nVersion: 2'),
      text.replace(/\nExpiration Time: .*/, ''),
      text.replace('for run', 'for the run'),
      text + '\nRequest ID: 7',
      text.replace('2025-01-01T12:00:00.000Z', '2025-01-01T12:00:00Z'),
      'hello',
    ];
    for (const t of bad) expect(() => parseBindMessage(t), t).toThrow(RewardsMessageError);
    // The SIWS parser itself would read some of these: our round-trip check is what refuses them.
    expect(parseSignInMessageText(text + '\n')).not.toBeNull();
  });

  it('refuses to build a message from malformed fields', () => {
    expect(() => bindMessageText({ ...fields, address: 'not-base58!' })).toThrow(/address/);
    expect(() => bindMessageText({ ...fields, clientId: 'ABC' })).toThrow(/client id/);
    expect(() => bindMessageText({ ...fields, issuedAt: 'yesterday' })).toThrow(/Issued At/);
  });

  it("binds the tab key's signature to the exact text under its own tag", () => {
    const text = bindMessageText(fields);
    const sig = signClientBind(text, secretKey);
    expect(verifyClientBind(text, sig, publicKey)).toBe(true);
    expect(verifyClientBind(text + ' ', sig, publicKey)).toBe(false);
    // A plain signature of the text (no tag) must not pass.
    expect(verifyClientBind(text, ed25519.sign(new TextEncoder().encode(text), secretKey), publicKey)).toBe(false);
    expect(verifyClientBind(text, sig.slice(1), publicKey)).toBe(false);
  });
});

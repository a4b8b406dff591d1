import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { clusterFromUrl, explorerTransactionUrl } from './cluster';
import { loadKeypairFile } from './keypair-file';
import { openRpcBackend, rpcMemoFieldHas } from './rpc-chain';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-rpc-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('RPC memo matching', () => {
  it('finds the memo in the RPC node\'s "[len] text; ..." field, exactly', () => {
    expect(rpcMemoFieldHas('[16] tessera-claim:c1', 'tessera-claim:c1')).toBe(true);
    expect(rpcMemoFieldHas('[5] hello; [16] tessera-claim:c1', 'tessera-claim:c1')).toBe(true);
    expect(rpcMemoFieldHas('tessera-claim:c1', 'tessera-claim:c1')).toBe(true);
    expect(rpcMemoFieldHas('[17] tessera-claim:c10', 'tessera-claim:c1')).toBe(false);
    expect(rpcMemoFieldHas('[16] tessera-claim:c2', 'tessera-claim:c1')).toBe(false);
    expect(rpcMemoFieldHas(null, 'tessera-claim:c1')).toBe(false);
  });
});

describe('cluster names and explorer links', () => {
  it('names public clusters and falls back to the host', () => {
    expect(clusterFromUrl('https://api.devnet.solana.com')).toBe('devnet');
    expect(clusterFromUrl('https://api.mainnet-beta.solana.com/')).toBe('mainnet-beta');
    expect(clusterFromUrl('https://api.testnet.solana.com')).toBe('testnet');
    expect(clusterFromUrl('http://127.0.0.1:8899')).toBe('127.0.0.1:8899');
  });

  it('links transactions per cluster', () => {
    expect(explorerTransactionUrl('SIG', 'mainnet-beta', 'https://api.mainnet-beta.solana.com')).toBe('https://explorer.solana.com/tx/SIG');
    expect(explorerTransactionUrl('SIG', 'devnet', 'https://api.devnet.solana.com')).toBe('https://explorer.solana.com/tx/SIG?cluster=devnet');
    expect(explorerTransactionUrl('SIG', '127.0.0.1:8899', 'http://127.0.0.1:8899')).toBe(
      'https://explorer.solana.com/tx/SIG?cluster=custom&customUrl=http%3A%2F%2F127.0.0.1%3A8899',
    );
  });
});

describe('Solana CLI keypair files', () => {
  it('loads a keypair written as a JSON array of 64 bytes', () => {
    const key = Keypair.generate();
    const loaded = loadKeypairFile(tempFile('id.json', JSON.stringify([...key.secretKey])));
    expect(loaded.publicKey.equals(key.publicKey)).toBe(true);
  });

  it('names what is wrong with a bad file', () => {
    expect(() => loadKeypairFile('/nonexistent/id.json')).toThrow(/cannot read keypair file \/nonexistent\/id.json/);
    expect(() => loadKeypairFile(tempFile('a.json', 'not json'))).toThrow(/is not JSON/);
    expect(() => loadKeypairFile(tempFile('b.json', JSON.stringify(new Array(32).fill(1))))).toThrow(/exactly 64 bytes/);
    expect(() => loadKeypairFile(tempFile('c.json', JSON.stringify(new Array(64).fill(256))))).toThrow(/exactly 64 bytes/);
    // 64 bytes whose second half is not the public key of the first.
    const mismatched = [...Keypair.generate().secretKey.slice(0, 32), ...Keypair.generate().publicKey.toBytes()];
    expect(() => loadKeypairFile(tempFile('d.json', JSON.stringify(mismatched)))).toThrow(/not a valid ed25519 keypair/);
  });

  it('opens an RPC backend without touching the network', () => {
    const key = Keypair.generate();
    const path = tempFile('id.json', JSON.stringify([...key.secretKey]));
    const { backend, treasury } = openRpcBackend({ url: 'https://api.devnet.solana.com', keypairPath: path });
    expect(backend.cluster).toBe('devnet');
    expect(treasury.publicKey.equals(key.publicKey)).toBe(true);
    expect(backend.explorerUrl('abc')).toBe('https://explorer.solana.com/tx/abc?cluster=devnet');
    const named = openRpcBackend({ url: 'http://10.0.0.5:8899', keypairPath: path, cluster: 'localnet' });
    expect(named.backend.cluster).toBe('localnet');
  });
});

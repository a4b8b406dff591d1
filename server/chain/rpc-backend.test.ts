/**
 * The RPC chain end to end, offline: web3.js's real Connection talks
 * JSON-RPC over HTTP to a minimal test server that executes transactions
 * in a LiteSVM (the methods web3.js calls for what RpcBackend does, and a
 * websocket that accepts subscriptions). This checks the RPC wiring (send,
 * confirm, error logs, memo search); real clusters are not reachable here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { LiteSVM, FailedTransactionMetadata, type TransactionMetadata } from 'litesvm';
import { Connection, Keypair, LAMPORTS_PER_SOL, VersionedTransaction } from '@solana/web3.js';
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import bs58 from 'bs58';
import { ChainTransactionError, ClaimAlreadyPaidError } from './chain-client';
import { MEMO_PROGRAM_ID } from './claim-transaction';
import { RpcBackend } from './rpc-chain';
import { openTreasuryClient } from './treasury-client';
import { setupTreasury } from './treasury-setup';

type SvmAddress = Parameters<LiteSVM['getAccount']>[0];
type SvmTransaction = Parameters<LiteSVM['sendTransaction']>[0];

interface FakeCluster {
  url: string;
  wsUrl: string;
  svm: LiteSVM;
  close(): Promise<void>;
}

async function startFakeCluster(): Promise<FakeCluster> {
  const svm = new LiteSVM();
  const statuses = new Map<string, null | string>();
  const history: { signature: string; accounts: string[]; memo: string | null; err: string | null }[] = [];
  const context = { slot: 1 };

  const methods: Record<string, (params: unknown[]) => unknown> = {
    getAccountInfo([address]) {
      const account = svm.getAccount(address as SvmAddress);
      const value = account.exists
        ? {
            data: [Buffer.from(account.data).toString('base64'), 'base64'],
            executable: account.executable,
            lamports: Number(account.lamports),
            owner: account.programAddress,
            rentEpoch: 0,
            space: account.data.length,
          }
        : null;
      return { context, value };
    },
    getMinimumBalanceForRentExemption: ([space]) => Number(svm.minimumBalanceForRentExemption(BigInt(space as number))),
    getLatestBlockhash: () => ({ context, value: { blockhash: svm.latestBlockhash(), lastValidBlockHeight: 1000 } }),
    getBlockHeight: () => 1,
    sendTransaction([encoded]) {
      const tx = VersionedTransaction.deserialize(Buffer.from(encoded as string, 'base64'));
      const keys = tx.message.staticAccountKeys;
      const signatures: Record<string, Uint8Array> = {};
      tx.signatures.forEach((sig, i) => (signatures[keys[i].toBase58()] = sig));
      // LiteSVM accepts only its latest blockhash, and web3.js caches the one
      // it fetched, so the fake keeps one blockhash (as if no slot passed).
      const result = svm.sendTransaction({ messageBytes: tx.message.serialize(), signatures } as unknown as SvmTransaction);
      const failed = result instanceof FailedTransactionMetadata ? result : null;
      const meta = failed ? failed.meta() : (result as TransactionMetadata);
      const signature = bs58.encode(meta.signature());
      const memos = tx.message.compiledInstructions
        .filter((ix) => keys[ix.programIdIndex].equals(MEMO_PROGRAM_ID))
        .map((ix) => Buffer.from(ix.data).toString('utf8'))
        .map((text) => `[${text.length}] ${text}`);
      history.unshift({ signature, accounts: keys.map((k) => k.toBase58()), memo: memos.length ? memos.join('; ') : null, err: failed ? failed.err().toString() : null });
      if (failed) {
        // What a node answers when preflight simulation fails.
        throw { code: -32002, message: `Transaction simulation failed: ${failed.err().toString()}`, data: { err: failed.err().toString(), logs: meta.logs() } };
      }
      statuses.set(signature, null);
      return signature;
    },
    getSignatureStatuses([signatures]) {
      const value = (signatures as string[]).map((sig) =>
        statuses.has(sig) ? { slot: 1, confirmations: null, err: null, confirmationStatus: 'finalized' } : null,
      );
      return { context, value };
    },
    getSignaturesForAddress([address, options]) {
      const limit = (options as { limit?: number } | undefined)?.limit ?? 1000;
      return history
        .filter((entry) => entry.accounts.includes(address as string))
        .slice(0, limit)
        .map((entry) => ({ signature: entry.signature, slot: 1, err: entry.err, memo: entry.memo, blockTime: null, confirmationStatus: 'finalized' }));
    },
  };

  const http: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const request = JSON.parse(body) as { id: unknown; method: string; params?: unknown[] };
      let reply: object;
      try {
        const method = methods[request.method];
        if (!method) throw { code: -32601, message: `method ${request.method} not in the fake cluster` };
        reply = { jsonrpc: '2.0', id: request.id, result: method(request.params ?? []) };
      } catch (error) {
        reply = { jsonrpc: '2.0', id: request.id, error };
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const ws = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => ws.on('listening', resolve));
  let subscription = 0;
  ws.on('connection', (socket) =>
    socket.on('message', (data) => {
      const request = JSON.parse(String(data)) as { id: unknown; method: string };
      const result = request.method.endsWith('Unsubscribe') ? true : ++subscription;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result }));
    }),
  );
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    wsUrl: `ws://127.0.0.1:${(ws.address() as AddressInfo).port}`,
    svm,
    close: async () => {
      for (const client of ws.clients) client.terminate();
      await new Promise((resolve) => ws.close(resolve));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

let cluster: FakeCluster;
let backend: RpcBackend;
let treasury: Keypair;

beforeEach(async () => {
  cluster = await startFakeCluster();
  const connection = new Connection(cluster.url, { commitment: 'confirmed', wsEndpoint: cluster.wsUrl });
  backend = new RpcBackend(connection, 'localnet', cluster.url);
  treasury = Keypair.generate();
});
afterEach(() => cluster.close());

describe('RPC chain against a JSON-RPC endpoint', () => {
  it('refuses set-up of an unfunded treasury with a clear message', async () => {
    await expect(setupTreasury(backend, treasury, { decimals: 6, supply: 1000n })).rejects.toThrow(
      new RegExp(`treasury ${treasury.publicKey.toBase58()} on localnet holds 0 lamports; fund it`),
    );
  });

  it('sets up, pays claims, finds them by memo and reports failures with logs', async () => {
    cluster.svm.airdrop(treasury.publicKey.toBase58() as SvmAddress, BigInt(LAMPORTS_PER_SOL) as Parameters<LiteSVM['airdrop']>[1]);
    const report = await setupTreasury(backend, treasury, { decimals: 6, supply: 5_000_000n });
    expect(report).toMatchObject({ cluster: 'localnet', created: true, treasuryBalance: '5000000' });
    expect((await setupTreasury(backend, treasury, { decimals: 6, supply: 1n })).created).toBe(false);

    const chain = await openTreasuryClient(backend, treasury, 6);
    const wallet = Keypair.generate().publicKey;
    const { signature } = await chain.payClaim({ claimId: 'rpc-1', wallet, amount: 1_234_567n });
    await chain.payClaim({ claimId: 'rpc-2', wallet, amount: 1n });
    expect(await chain.tokenBalance(wallet)).toBe(1_234_568n);
    expect(await chain.tokenBalance(treasury.publicKey)).toBe(3_765_432n);
    expect(await chain.findClaimPayment('rpc-1')).toBe(signature);
    expect(await chain.findClaimPayment('rpc-3')).toBeNull();
    await expect(chain.payClaim({ claimId: 'rpc-1', wallet, amount: 1n })).rejects.toThrow(ClaimAlreadyPaidError);
    expect(chain.explorerUrl(signature)).toBe(
      `https://explorer.solana.com/tx/${signature}?cluster=custom&customUrl=${encodeURIComponent(cluster.url)}`,
    );

    const mint = chain.mint();
    const error = await backend
      .send(
        [createTransferCheckedInstruction(chain.treasury().tokenAccount, mint, getAssociatedTokenAddressSync(mint, wallet), treasury.publicKey, 10_000_000n, 6)],
        [treasury],
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainTransactionError);
    expect((error as ChainTransactionError).logs).toContain('Program log: Error: insufficient funds');
    expect((error as Error).message).toBe('transaction failed on localnet: Program log: Error: insufficient funds');
    expect((error as ChainTransactionError).outcome).toBe('failed');
    expect(await chain.tokenBalance(wallet)).toBe(1_234_568n);
  });
});

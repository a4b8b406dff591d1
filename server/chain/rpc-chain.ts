/**
 * A Solana cluster through JSON-RPC (web3.js Connection): devnet, mainnet,
 * a local validator, any provider. The treasury key comes from a Solana CLI
 * keypair file; the operator funds it with SOL and runs the set-up once.
 *
 * Confirmation is 'confirmed'. sendAndConfirmTransaction can time out on a
 * transaction that still lands; callers that lose a claim's outcome recover
 * it with findClaimPayment, which reads the memo column of
 * getSignaturesForAddress (one request).
 */
import {
  Connection,
  SendTransactionError,
  Transaction,
  sendAndConfirmTransaction,
  type Finality,
  type Keypair,
  type PublicKey,
  type TransactionInstruction,
} from '@solana/web3.js';
import bs58 from 'bs58';
import type { ChainAccount, ChainBackend } from './chain-backend';
import { ChainTransactionError } from './chain-client';
import { clusterFromUrl, explorerTransactionUrl } from './cluster';
import { loadKeypairFile } from './keypair-file';

const COMMITMENT: Finality = 'confirmed';
/** getSignaturesForAddress's maximum page. */
const MEMO_SEARCH_LIMIT = 1000;

/**
 * The RPC node reports a transaction's memos as one string, each memo
 * prefixed by its length in brackets and joined by "; " (e.g.
 * "[19] tessera-claim:abc"). Accepts the bare text too.
 */
export function rpcMemoFieldHas(field: string | null | undefined, memo: string): boolean {
  if (!field) return false;
  return field.split('; ').some((part) => part === memo || part.replace(/^\[\d+\] /, '') === memo);
}

export class RpcBackend implements ChainBackend {
  constructor(
    readonly connection: Connection,
    readonly cluster: string,
    private readonly rpcUrl: string,
  ) {}

  async getAccount(key: PublicKey): Promise<ChainAccount | null> {
    const info = await this.connection.getAccountInfo(key, COMMITMENT);
    if (!info) return null;
    return { lamports: BigInt(info.lamports), owner: info.owner, data: new Uint8Array(info.data), executable: info.executable };
  }

  async rentExemptMinimum(space: number): Promise<bigint> {
    return BigInt(await this.connection.getMinimumBalanceForRentExemption(space, COMMITMENT));
  }

  async send(instructions: TransactionInstruction[], signers: Keypair[]): Promise<string> {
    const tx = new Transaction().add(...instructions);
    tx.feePayer = signers[0].publicKey;
    try {
      return await sendAndConfirmTransaction(this.connection, tx, signers, { commitment: COMMITMENT });
    } catch (error) {
      // Preflight or execution refused it: it will never land.
      if (error instanceof SendTransactionError) {
        const logs = (await error.getLogs(this.connection).catch(() => error.logs)) ?? [];
        const reason = logs.find((line) => /^Program log: (Error|error)/.test(line)) ?? error.transactionError.message;
        throw new ChainTransactionError(`transaction failed on ${this.cluster}: ${reason}`, logs);
      }
      // Timeouts (block height exceeded, network): it may still land.
      const signature = tx.signature ? bs58.encode(tx.signature) : null;
      throw new ChainTransactionError(
        `transaction ${signature ?? ''} on ${this.cluster} was not confirmed: ${(error as Error).message}`,
        [],
        signature,
        'unknown',
      );
    }
  }

  async findMemo(key: PublicKey, memo: string): Promise<string | null> {
    const entries = await this.connection.getSignaturesForAddress(key, { limit: MEMO_SEARCH_LIMIT }, COMMITMENT);
    const hit = entries.find((entry) => entry.err === null && rpcMemoFieldHas(entry.memo, memo));
    return hit?.signature ?? null;
  }

  explorerUrl(signature: string): string {
    return explorerTransactionUrl(signature, this.cluster, this.rpcUrl);
  }

  close(): void {}
}

export interface RpcChainOptions {
  url: string;
  keypairPath: string;
  /** Defaults to the name inferred from the URL. */
  cluster?: string;
}

export function openRpcBackend(options: RpcChainOptions): { backend: RpcBackend; treasury: Keypair } {
  const treasury = loadKeypairFile(options.keypairPath);
  const connection = new Connection(options.url, COMMITMENT);
  const backend = new RpcBackend(connection, options.cluster ?? clusterFromUrl(options.url), options.url);
  return { backend, treasury };
}

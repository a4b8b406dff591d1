/**
 * The embedded ledger: LiteSVM (real System, SPL Token, Associated Token
 * Account and Memo programs) inside the server process, its accounts kept in
 * SQLite (litesvm-store.ts) so balances survive restarts.
 *
 * LiteSVM 1.5.0 speaks @solana/kit types; we build with web3.js 1 and hand
 * it the message bytes and signatures in kit's Transaction shape (the
 * litesvm wrapper re-encodes them to the wire format), typed through
 * litesvm's own signatures so that no kit import is needed.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { LiteSVM, FailedTransactionMetadata, type TransactionMetadata } from 'litesvm';
import { Keypair, LAMPORTS_PER_SOL, PublicKey, Transaction, type TransactionInstruction } from '@solana/web3.js';
import bs58 from 'bs58';
import type { ChainAccount, ChainBackend } from './chain-backend';
import { ChainTransactionError } from './chain-client';
import { MEMO_PROGRAM_ID } from './claim-transaction';
import { LiteSvmStore, type AccountWrite, type MemoRecord, type StoredAccount } from './litesvm-store';

type SvmTransaction = Parameters<LiteSVM['sendTransaction']>[0];
type SvmAddress = Parameters<LiteSVM['getAccount']>[0];
type SvmAccount = Parameters<LiteSVM['setAccount']>[0];

/** Below this the treasury is topped up from LiteSVM's faucet: rent for new token accounts and fees. */
const TREASURY_MIN_LAMPORTS = BigInt(LAMPORTS_PER_SOL);
const TREASURY_TOP_UP_LAMPORTS = 100n * BigInt(LAMPORTS_PER_SOL);

const address = (key: PublicKey | string): SvmAddress => (typeof key === 'string' ? key : key.toBase58()) as SvmAddress;

function toSvmTransaction(tx: Transaction): SvmTransaction {
  // Insertion order of `signatures` is the wire order: web3.js keeps
  // tx.signatures in the compiled message's signer order.
  const signatures: Record<string, Uint8Array> = {};
  for (const { publicKey, signature } of tx.signatures) {
    if (!signature) throw new ChainTransactionError(`transaction is missing the signature of ${publicKey.toBase58()}`);
    signatures[publicKey.toBase58()] = new Uint8Array(signature);
  }
  return { messageBytes: new Uint8Array(tx.serializeMessage()), signatures } as unknown as SvmTransaction;
}

function memoTexts(instructions: TransactionInstruction[]): string[] {
  return instructions.filter((ix) => ix.programId.equals(MEMO_PROGRAM_ID)).map((ix) => Buffer.from(ix.data).toString('utf8'));
}

/** The error line a program logged, if any, for a readable message. */
function failureReason(logs: string[]): string | undefined {
  return logs.find((line) => /^Program log: (Error|error)/.test(line)) ?? logs.find((line) => / failed: /.test(line));
}

export class LiteSvmBackend implements ChainBackend {
  readonly cluster = 'litesvm';

  constructor(
    readonly svm: LiteSVM,
    private readonly store: LiteSvmStore,
    private readonly onClose: () => void = () => {},
  ) {}

  async getAccount(key: PublicKey): Promise<ChainAccount | null> {
    const account = this.readAccount(key.toBase58());
    return account && { ...account, owner: new PublicKey(account.owner) };
  }

  async rentExemptMinimum(space: number): Promise<bigint> {
    return this.svm.minimumBalanceForRentExemption(BigInt(space));
  }

  async send(instructions: TransactionInstruction[], signers: Keypair[]): Promise<string> {
    const tx = new Transaction({ feePayer: signers[0].publicKey, recentBlockhash: this.svm.latestBlockhash() });
    tx.add(...instructions);
    tx.sign(...signers);
    const message = tx.compileMessage();
    const written = message.accountKeys.filter((_, i) => message.isAccountWritable(i)).map((key) => key.toBase58());

    let result: ReturnType<LiteSVM['sendTransaction']>;
    try {
      result = this.svm.sendTransaction(toSvmTransaction(tx));
    } catch (error) {
      throw new ChainTransactionError(`LiteSVM refused the transaction: ${(error as Error).message}`);
    }
    // A new blockhash per transaction, as on a real cluster: two identical
    // transactions (same instructions, same blockhash) would otherwise be
    // rejected as already processed.
    this.svm.expireBlockhash();

    const failed = result instanceof FailedTransactionMetadata ? result : null;
    const meta = failed ? failed.meta() : (result as TransactionMetadata);
    const signature = bs58.encode(meta.signature());
    const logs = meta.logs();
    const memos: MemoRecord[] = failed
      ? []
      : memoTexts(instructions).flatMap((memo) => written.map((addr) => ({ memo, address: addr })));
    // Failed transactions still charge the fee payer: store that too, so the
    // database always equals the ledger.
    this.persist(written, failed ? null : signature, memos);
    if (failed) {
      const reason = failureReason(logs) ?? failed.err().toString();
      throw new ChainTransactionError(`transaction ${signature} failed on LiteSVM: ${reason}`, logs, signature);
    }
    return signature;
  }

  async findMemo(key: PublicKey, memo: string): Promise<string | null> {
    return this.store.findMemo(key.toBase58(), memo);
  }

  explorerUrl(): null {
    return null;
  }

  close(): void {
    this.onClose();
  }

  /** Gives `key` lamports from LiteSVM's faucet (the local treasury's SOL) and stores the result. */
  airdrop(key: PublicKey, lamports: bigint): void {
    const result = this.svm.airdrop(address(key), lamports as Parameters<LiteSVM['airdrop']>[1]);
    if (!result || result instanceof FailedTransactionMetadata) {
      throw new ChainTransactionError(`LiteSVM airdrop to ${key.toBase58()} failed: ${result ? result.err().toString() : 'no result'}`);
    }
    this.persist([key.toBase58()], null, []);
  }

  private readAccount(addr: string): StoredAccount | null {
    const account = this.svm.getAccount(address(addr));
    if (!account.exists) return null;
    return {
      address: addr,
      lamports: BigInt(account.lamports),
      owner: account.programAddress,
      executable: account.executable,
      data: new Uint8Array(account.data),
    };
  }

  private persist(addresses: string[], signature: string | null, memos: MemoRecord[]): void {
    const writes: AccountWrite[] = addresses.map((addr) => ({ address: addr, account: this.readAccount(addr) }));
    this.store.record(writes, signature, memos);
  }
}

/** Converts a stored account for LiteSVM.setAccount. */
function toSvmAccount(account: StoredAccount): SvmAccount {
  return {
    address: address(account.address),
    lamports: account.lamports,
    programAddress: address(account.owner),
    executable: account.executable,
    data: account.data,
    space: BigInt(account.data.length),
  } as unknown as SvmAccount;
}

export interface LiteSvmChainOptions {
  /** A database path (opened here, closed by close()) or an open handle (the caller closes it). */
  db: string | Database.Database;
}

/**
 * Opens the embedded ledger: a fresh LiteSVM with every stored account
 * restored, and the treasury key (created and stored on first open, then
 * given SOL from LiteSVM's faucet whenever it runs low).
 */
export function openLiteSvmBackend(options: LiteSvmChainOptions): { backend: LiteSvmBackend; treasury: Keypair } {
  let db: Database.Database;
  let onClose = () => {};
  if (typeof options.db === 'string') {
    mkdirSync(dirname(options.db), { recursive: true });
    db = new Database(options.db);
    db.pragma('journal_mode = WAL');
    onClose = () => db.close();
  } else {
    db = options.db;
  }
  const store = new LiteSvmStore(db);
  const svm = new LiteSVM();
  for (const account of store.accounts()) svm.setAccount(toSvmAccount(account));

  let secretKey = store.treasurySecretKey();
  if (!secretKey) {
    secretKey = Keypair.generate().secretKey;
    store.saveTreasurySecretKey(secretKey);
  }
  const treasury = Keypair.fromSecretKey(secretKey);
  const backend = new LiteSvmBackend(svm, store, onClose);
  const lamports = svm.getBalance(address(treasury.publicKey)) ?? 0n;
  if (lamports < TREASURY_MIN_LAMPORTS) backend.airdrop(treasury.publicKey, TREASURY_TOP_UP_LAMPORTS);
  return { backend, treasury };
}

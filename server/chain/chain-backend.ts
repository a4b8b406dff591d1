/**
 * The few ledger operations the treasury needs, implemented once per ledger
 * (LiteSVM, RPC). Everything above it (claims, set-up) is shared, so the two
 * ledgers cannot drift apart in what they pay or how.
 */
import type { Keypair, PublicKey, TransactionInstruction } from '@solana/web3.js';

export interface ChainAccount {
  lamports: bigint;
  owner: PublicKey;
  data: Uint8Array;
  executable: boolean;
}

export interface ChainBackend {
  readonly cluster: string;
  /** null when the account does not exist. */
  getAccount(address: PublicKey): Promise<ChainAccount | null>;
  rentExemptMinimum(space: number): Promise<bigint>;
  /**
   * One legacy transaction of `instructions`, fee paid by signers[0], signed
   * by all `signers`; resolves to its signature once the ledger executed it
   * successfully. Throws ChainTransactionError when it failed.
   */
  send(instructions: TransactionInstruction[], signers: Keypair[]): Promise<string>;
  /** Signature of a successful transaction touching `address` that carried memo `memo`, or null. */
  findMemo(address: PublicKey, memo: string): Promise<string | null>;
  explorerUrl(signature: string): string | null;
  close(): void;
}

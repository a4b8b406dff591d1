/**
 * The instructions of one claim payment, shared by both chain
 * implementations so that LiteSVM and a real cluster run the very same
 * transaction: create the wallet's associated token account if missing
 * (idempotent, so a wallet that already has one costs nothing extra), a
 * transferChecked (the token program re-checks mint and decimals, so a
 * mistaken decimals value fails instead of paying 10^k times too much), and
 * a memo that lets anyone find the payment of a claim id on chain.
 */
import { PublicKey, TransactionInstruction } from '@solana/web3.js';
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { z } from 'zod';
import { InvalidClaimError, type ClaimPayment } from './chain-client';

/** SPL Memo v3: LiteSVM loads it (and v1); newer memo addresses it does not. */
export const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
export const CLAIM_MEMO_PREFIX = 'tessera-claim:';
export const U64_MAX = (1n << 64n) - 1n;

/** Printable and short: the id is read by people in explorers and matched exactly in memos. */
export const claimIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'claimId must be 1-64 characters of A-Z a-z 0-9 _ -');

const claimPaymentSchema = z.object({
  claimId: claimIdSchema,
  wallet: z
    .instanceof(PublicKey, { message: 'wallet must be a PublicKey' })
    // Associated token accounts of off-curve owners (program addresses) need
    // allowOwnerOffCurve; a wallet that signed a sign-in message is on the curve.
    .refine((key) => PublicKey.isOnCurve(key.toBytes()), 'wallet must be an ed25519 public key (on the curve)'),
  amount: z
    .bigint({ message: 'amount must be a bigint of base units' })
    .refine((value) => value > 0n, 'amount must be > 0')
    .refine((value) => value <= U64_MAX, 'amount must fit in u64'),
});

/** Validates a payment request; throws InvalidClaimError naming what was wrong. */
export function parseClaimPayment(input: unknown): ClaimPayment {
  const parsed = claimPaymentSchema.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'payment'}: ${issue.message}`).join('; ');
    throw new InvalidClaimError(`invalid claim payment: ${detail}`);
  }
  return parsed.data;
}

export function claimMemo(claimId: string): string {
  return CLAIM_MEMO_PREFIX + claimId;
}

/** A memo that also names its signer, so the memo program checks the treasury signed it. */
export function memoInstruction(text: string, signer: PublicKey): TransactionInstruction {
  return new TransactionInstruction({
    programId: MEMO_PROGRAM_ID,
    keys: [{ pubkey: signer, isSigner: true, isWritable: false }],
    data: Buffer.from(text, 'utf8'),
  });
}

export interface ClaimTransactionInput extends ClaimPayment {
  mint: PublicKey;
  decimals: number;
  /** Treasury owner: fee payer, rent payer, transfer authority. */
  treasury: PublicKey;
}

export function buildClaimInstructions(input: ClaimTransactionInput): TransactionInstruction[] {
  const { claimId, wallet, amount } = parseClaimPayment(input);
  const { mint, decimals, treasury } = input;
  const source = getAssociatedTokenAddressSync(mint, treasury);
  const destination = getAssociatedTokenAddressSync(mint, wallet);
  return [
    createAssociatedTokenAccountIdempotentInstruction(treasury, destination, wallet, mint),
    createTransferCheckedInstruction(source, mint, destination, treasury, amount, decimals),
    memoInstruction(claimMemo(claimId), treasury),
  ];
}

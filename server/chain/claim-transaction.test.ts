import { describe, expect, it } from 'vitest';
import { Keypair, PublicKey, SystemProgram } from '@solana/web3.js';
import {
  ASSOCIATED_TOKEN_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  decodeTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { InvalidClaimError } from './chain-client';
import { MEMO_PROGRAM_ID, U64_MAX, buildClaimInstructions, claimMemo } from './claim-transaction';

const treasury = Keypair.generate().publicKey;
const mint = Keypair.generate().publicKey;
const wallet = Keypair.generate().publicKey;
const base = { claimId: 'run7-claim_42', wallet, amount: 123_456_789n, mint, decimals: 6, treasury };

describe('buildClaimInstructions', () => {
  it('builds create-ATA-idempotent, transferChecked, memo in that order', () => {
    const [create, transfer, memo, ...rest] = buildClaimInstructions(base);
    expect(rest).toHaveLength(0);
    const walletAta = getAssociatedTokenAddressSync(mint, wallet);
    const treasuryAta = getAssociatedTokenAddressSync(mint, treasury);

    expect(create.programId.equals(ASSOCIATED_TOKEN_PROGRAM_ID)).toBe(true);
    expect([...create.data]).toEqual([1]); // 1 = CreateIdempotent (0 would fail on an existing account)
    expect(create.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable])).toEqual([
      [treasury.toBase58(), true, true],
      [walletAta.toBase58(), false, true],
      [wallet.toBase58(), false, false],
      [mint.toBase58(), false, false],
      [SystemProgram.programId.toBase58(), false, false],
      [TOKEN_PROGRAM_ID.toBase58(), false, false],
    ]);

    const decoded = decodeTransferCheckedInstruction(transfer);
    expect(decoded.data.amount).toBe(123_456_789n);
    expect(decoded.data.decimals).toBe(6);
    expect(decoded.keys.source.pubkey.equals(treasuryAta)).toBe(true);
    expect(decoded.keys.mint.pubkey.equals(mint)).toBe(true);
    expect(decoded.keys.destination.pubkey.equals(walletAta)).toBe(true);
    expect(decoded.keys.owner.pubkey.equals(treasury)).toBe(true);
    expect(decoded.keys.owner.isSigner).toBe(true);

    expect(memo.programId.toBase58()).toBe('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
    expect(memo.programId.equals(MEMO_PROGRAM_ID)).toBe(true);
    expect(Buffer.from(memo.data).toString('utf8')).toBe('tessera-claim:run7-claim_42');
    expect(memo.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable])).toEqual([[treasury.toBase58(), true, false]]);
  });

  it('encodes the largest u64 amount exactly', () => {
    const transfer = buildClaimInstructions({ ...base, amount: U64_MAX })[1];
    expect(decodeTransferCheckedInstruction(transfer).data.amount).toBe(18_446_744_073_709_551_615n);
  });

  it('names the memo after the claim id', () => {
    expect(claimMemo('abc')).toBe('tessera-claim:abc');
  });

  it.each([
    ['an empty claim id', { claimId: '' }, /claimId/],
    ['a claim id with spaces', { claimId: 'a b' }, /claimId/],
    ['a 65-character claim id', { claimId: 'x'.repeat(65) }, /claimId/],
    ['a zero amount', { amount: 0n }, /amount: amount must be > 0/],
    ['a negative amount', { amount: -5n }, /amount must be > 0/],
    ['an amount above u64', { amount: U64_MAX + 1n }, /fit in u64/],
    ['a number amount', { amount: 5 }, /amount must be a bigint/],
    ['a string wallet', { wallet: wallet.toBase58() }, /wallet must be a PublicKey/],
  ])('rejects %s', (_name, patch, message) => {
    expect(() => buildClaimInstructions({ ...base, ...patch } as never)).toThrow(InvalidClaimError);
    expect(() => buildClaimInstructions({ ...base, ...patch } as never)).toThrow(message);
  });

  it('rejects an off-curve wallet (a program address)', async () => {
    const [pda] = PublicKey.findProgramAddressSync([Buffer.from('x')], TOKEN_PROGRAM_ID);
    expect(() => buildClaimInstructions({ ...base, wallet: pda })).toThrow(/on the curve/);
  });
});

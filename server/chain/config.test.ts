import { describe, expect, it } from 'vitest';
import { ChainConfigError, DEFAULT_LITESVM_DB, parseChainConfig, tokensForPoints } from './config';

describe('parseChainConfig', () => {
  it('defaults to the embedded LiteSVM ledger, 6 decimals, one token per point', () => {
    const config = parseChainConfig();
    expect(config).toEqual({
      kind: 'litesvm',
      db: DEFAULT_LITESVM_DB,
      decimals: 6,
      tokensPerPoint: 1_000_000n,
      supply: 1_000_000_000_000_000n,
    });
  });

  it('reads an RPC config with an exact base-unit rate', () => {
    const config = parseChainConfig({
      kind: 'rpc',
      url: 'https://api.devnet.solana.com',
      keypairPath: '/keys/treasury.json',
      decimals: 9,
      tokensPerPoint: '2500000',
      supply: '18446744073709551615',
    });
    expect(config.kind).toBe('rpc');
    expect(config.tokensPerPoint).toBe(2_500_000n);
    expect(config.supply).toBe(18_446_744_073_709_551_615n);
    if (config.kind === 'rpc') expect(config.cluster).toBeUndefined();
  });

  it.each([
    ['an unknown kind', { kind: 'evm' }, /kind must be 'litesvm' or 'rpc'/],
    ['an RPC config without url', { kind: 'rpc', keypairPath: 'k.json' }, /url/],
    ['a non-http url', { kind: 'rpc', url: 'ftp://x.org', keypairPath: 'k.json' }, /url: url must use http or https/],
    ['an RPC config without keypair', { kind: 'rpc', url: 'http://127.0.0.1:8899' }, /keypairPath/],
    ['a fractional rate', { kind: 'litesvm', tokensPerPoint: '1.5' }, /tokensPerPoint: tokensPerPoint must be a whole number/],
    ['a numeric rate', { kind: 'litesvm', tokensPerPoint: 5 }, /tokensPerPoint must be a string/],
    ['a zero rate', { kind: 'litesvm', tokensPerPoint: '0' }, /tokensPerPoint must be > 0/],
    ['too many decimals', { kind: 'litesvm', decimals: 19 }, /decimals/],
    ['a supply over u64', { kind: 'litesvm', supply: '18446744073709551616' }, /supply must be > 0 and fit in u64/],
    ['a default supply over u64', { kind: 'litesvm', decimals: 12 }, /supply \(default 10\^9 tokens\) does not fit/],
  ])('rejects %s with a clear error', (_name, input, message) => {
    expect(() => parseChainConfig(input)).toThrow(ChainConfigError);
    expect(() => parseChainConfig(input)).toThrow(message);
  });
});

describe('tokensForPoints', () => {
  it('multiplies exactly in bigint', () => {
    expect(tokensForPoints(3, 2_500_000n)).toBe(7_500_000n);
    expect(tokensForPoints(0n, 7n)).toBe(0n);
    // 2^53 + 1 points: a float would round this.
    expect(tokensForPoints(9_007_199_254_740_993n, 2n)).toBe(18_014_398_509_481_986n);
  });

  it('refuses negative, fractional, unsafe and overflowing inputs', () => {
    expect(() => tokensForPoints(-1, 1n)).toThrow(/>= 0/);
    expect(() => tokensForPoints(1.5, 1n)).toThrow(/safe integer/);
    expect(() => tokensForPoints(2 ** 60, 1n)).toThrow(/safe integer/);
    expect(() => tokensForPoints(1n << 63n, 2n)).toThrow(/exceeds u64/);
  });
});

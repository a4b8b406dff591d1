import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainConfigError } from './config';
import { UsageError, parseSetupArgs, runTreasurySetup } from './setup-command';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('treasury set-up command', () => {
  it('parses LiteSVM and RPC flags into a chain config', () => {
    expect(parseSetupArgs(['--db', 'x.sqlite', '--decimals', '2', '--supply', '500'])).toEqual({
      kind: 'litesvm',
      db: 'x.sqlite',
      decimals: 2,
      supply: 500n,
      tokensPerPoint: 100n,
    });
    const rpc = parseSetupArgs(['--rpc', 'https://api.devnet.solana.com', '--keypair', 'id.json', '--supply', '7']);
    expect(rpc).toMatchObject({ kind: 'rpc', url: 'https://api.devnet.solana.com', keypairPath: 'id.json', decimals: 6, supply: 7n });
  });

  it.each([
    [['--bogus'], UsageError, /Unknown option '--bogus'/],
    [['--decimals', 'six'], UsageError, /--decimals must be a whole number/],
    [['--keypair', 'id.json'], UsageError, /need --rpc URL/],
    [['--rpc', 'http://127.0.0.1:8899', '--db', 'x'], UsageError, /--db is for the embedded LiteSVM ledger/],
    [['--rpc', 'http://127.0.0.1:8899'], ChainConfigError, /keypairPath/],
    [['--supply', '1.5'], ChainConfigError, /supply must be a whole number/],
  ])('rejects %j', (argv, type, message) => {
    expect(() => parseSetupArgs(argv)).toThrow(type);
    expect(() => parseSetupArgs(argv)).toThrow(message);
  });

  it('creates the LiteSVM treasury once and reports the same one when run again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-setup-'));
    dirs.push(dir);
    const db = join(dir, 'nested', 'chain.sqlite');
    const first = await runTreasurySetup(['--db', db, '--decimals', '6', '--supply', '123456789']);
    expect(first).toMatchObject({ cluster: 'litesvm', created: true, decimals: 6, supply: '123456789', treasuryBalance: '123456789' });
    const second = await runTreasurySetup(['--db', db, '--decimals', '6', '--supply', '999']);
    expect(second).toMatchObject({ created: false, mint: first.mint, treasury: first.treasury, supply: '123456789', treasuryBalance: '123456789' });
    await expect(runTreasurySetup(['--db', db, '--decimals', '9'])).rejects.toThrow(/already exists with 6 decimals/);
  });
});

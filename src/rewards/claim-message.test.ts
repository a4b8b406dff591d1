import { describe, expect, it } from 'vitest';
import { claimMessageText, parseClaimMessage, type ClaimMessageFields } from './claim-message';
import { RewardsMessageError } from './message-error';

const fields: ClaimMessageFields = {
  runId: '0123456789abcdef0123456789abcdef',
  wallet: '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin',
  points: 120,
  nonce: '5f0c3a1e9b7d44c2a8e6f1b3d5c7e9a0',
  issuedAt: '2025-01-01T12:00:00.000Z',
  expirationTime: '2025-01-01T12:05:00.000Z',
  domain: 'localhost:8080',
  cluster: 'solana:localnet',
};

describe('claim message', () => {
  it('has the nine documented lines and parses back to its fields', () => {
    const text = claimMessageText(fields);
    expect(text).toBe(
      [
        'Tessera claim',
        'Run: 0123456789abcdef0123456789abcdef',
        'Wallet: 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin',
        'Points: 120',
        'Nonce: 5f0c3a1e9b7d44c2a8e6f1b3d5c7e9a0',
        'Issued At: 2025-01-01T12:00:00.000Z',
        'Expiration Time: 2025-01-01T12:05:00.000Z',
        'Domain: localhost:8080',
        'Cluster: solana:localnet',
      ].join('\n'),
    );
    expect(parseClaimMessage(text)).toEqual(fields);
  });

  it('refuses every other spelling', () => {
    const text = claimMessageText(fields);
    const bad = [
      text + '\n',
      '\n' + text,
      text.replace('Points: 120', 'Points: 0120'),
      text.replace('Points: 120', 'Points: 0'),
      text.replace('Points: 120', 'Points: 1.5'),
      text.replace('Points: 120', 'Points: -3'),
      text.replace('Points: 120', 'Points: 99999999999999999'),
      text.replace('Points: 120', 'Points:120'),
      text.replace('Tessera claim', 'Tessera Claim'),
      text.replace('\nDomain: localhost:8080', ''),
      text.replace('Cluster: solana:localnet', 'Cluster: localnet'),
      text.replace('Run: 0123', 'Run: 0A23'),
      text.replace(/Wallet: \S+/, 'Wallet: 0OIl'),
      text.replace('.000Z', 'Z'),
      text.split('\n').reverse().join('\n'),
      text.replace(/\n/g, '\r\n'),
    ];
    for (const t of bad) expect(() => parseClaimMessage(t), t).toThrow(RewardsMessageError);
  });
});

/**
 * The Wallet Standard chain id that sign-in and claim messages name. Both
 * sides derive it from the chain layer's cluster name, so a message signed
 * for devnet can never be honoured by a server paying on mainnet (and back).
 */
export const SOLANA_CHAIN_IDS = ['solana:mainnet', 'solana:devnet', 'solana:testnet', 'solana:localnet'] as const;
export type SolanaChainId = (typeof SOLANA_CHAIN_IDS)[number];

/** 'litesvm' and custom RPC hosts (e.g. 'localhost:8899') are local ledgers. */
export function chainIdForCluster(cluster: string): SolanaChainId {
  switch (cluster) {
    case 'mainnet-beta':
      return 'solana:mainnet';
    case 'devnet':
      return 'solana:devnet';
    case 'testnet':
      return 'solana:testnet';
    default:
      return 'solana:localnet';
  }
}

/** Naming an RPC endpoint's cluster and linking its transactions in the Solana explorer. */
const KNOWN_HOSTS: Record<string, string> = {
  'api.mainnet-beta.solana.com': 'mainnet-beta',
  'api.devnet.solana.com': 'devnet',
  'api.testnet.solana.com': 'testnet',
};

const EXPLORER_CLUSTERS = new Set(['mainnet-beta', 'devnet', 'testnet']);

/** 'devnet' etc. for Solana's public endpoints, else the URL's host (e.g. 'localhost:8899'). */
export function clusterFromUrl(url: string): string {
  const host = new URL(url).host;
  return KNOWN_HOSTS[host] ?? host;
}

export function explorerTransactionUrl(signature: string, cluster: string, rpcUrl: string): string {
  const base = `https://explorer.solana.com/tx/${encodeURIComponent(signature)}`;
  if (cluster === 'mainnet-beta') return base;
  if (EXPLORER_CLUSTERS.has(cluster)) return `${base}?cluster=${cluster}`;
  return `${base}?cluster=custom&customUrl=${encodeURIComponent(rpcUrl)}`;
}

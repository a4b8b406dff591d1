/** Field shapes shared by the binding and claim messages. */

/** Server nonces (GET /api/rewards/nonce): 16 random bytes as lowercase hex. */
export const NONCE_PATTERN = /^[0-9a-f]{32}$/;

/** host[:port] as the browser's location.host writes it (IPv6 in brackets). */
export function isHostDomain(text: string): boolean {
  return /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/.test(text);
}

/** A Wallet Standard chain id such as 'solana:devnet'. */
export function isChainId(text: string): boolean {
  return /^solana:[a-z]+$/.test(text);
}

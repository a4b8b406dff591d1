/**
 * The last account view (points and claim history) per wallet, kept in
 * IndexedDB so the Rewards page shows it at once, even before the
 * coordinator answers.
 */
import { openDB } from 'idb';
import { accountResponseSchema, type AccountResponse } from '../../rewards/api';

const DB = 'tessera-rewards';
const STORE = 'accounts';

async function db() {
  return openDB(DB, 1, {
    upgrade(d) {
      d.createObjectStore(STORE);
    },
  });
}

export async function cachedAccount(wallet: string): Promise<AccountResponse | null> {
  const d = await db();
  try {
    const parsed = accountResponseSchema.safeParse(await d.get(STORE, wallet));
    return parsed.success ? parsed.data : null;
  } finally {
    d.close();
  }
}

export async function cacheAccount(account: AccountResponse): Promise<void> {
  const d = await db();
  try {
    await d.put(STORE, account, account.wallet);
  } finally {
    d.close();
  }
}

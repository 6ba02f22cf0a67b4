import type { Storage } from '../storage/storage.js';

/** How long delivered and skipped messages stay in the delivery log (dead and pending ones stay until handled). */
export const DELIVERY_LOG_DAYS = 30;

/**
 * Deletes delivered and skipped deliveries finished more than `days` ago, 5,000 per transaction (the scheduler's
 * `deliveries` job); returns how many.
 */
export async function purgeDeliveries(storage: Storage, now: number, days = DELIVERY_LOG_DAYS): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await storage.transaction((tx) => tx.deliveries.purge(now - days * 86_400_000, 5000), { write: true });
    total += n;
    if (n < 5000) return total;
  }
}

import type { Storage, Stores } from './storage.js';
import { isTransientStoreError } from './transient.js';

/**
 * A management write transaction (`storage.transaction(fn, {write: true})`), run again up to `attempts` times in all
 * after a deadlock or another transient failure (`isTransientStoreError`): `fn` must be safe to run again, which a
 * transaction that rolled back is.
 */
export async function writeTransaction<T>(storage: Storage, fn: (tx: Stores) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await storage.transaction(fn, { write: true });
    } catch (e) {
      if (attempt >= attempts || !isTransientStoreError(e)) throw e;
    }
  }
}

import { afterEach, beforeEach } from 'vitest';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import type { Storage } from '../storage/storage.js';

/**
 * Two migrated in-memory SQLite stores, new for each test of the calling file: a batch cache under test works on
 * `cached()`, the bare store it must equal on `bare()`.
 */
export function storagePair(): { cached: () => Storage; bare: () => Storage } {
  let cached: Storage;
  let bare: Storage;
  beforeEach(async () => {
    cached = createSqliteStorage({ file: ':memory:' });
    bare = createSqliteStorage({ file: ':memory:' });
    await cached.migrate();
    await bare.migrate();
  });
  afterEach(async () => {
    await cached.close();
    await bare.close();
  });
  return { cached: () => cached, bare: () => bare };
}

import { sqliteDialect } from '../dialect.js';
import { createKyselyStorage } from '../sql/create-stores.js';
import type { Storage } from '../storage.js';
import { openSqlite, type SqliteOptions } from './create-sqlite-database.js';

/** The embedded storage adapter: SQLite through better-sqlite3 (WAL, incremental auto-vacuum). */
export function createSqliteStorage(opts: SqliteOptions): Storage & { checkpoint(): void } {
  const { db, raw } = openSqlite(opts);
  const storage = createKyselyStorage(db, sqliteDialect, async () => {
    await db.destroy();
  });
  return {
    ...storage,
    checkpoint() {
      raw.pragma('wal_checkpoint(PASSIVE)');
    },
  };
}

import { sqliteDialect } from '../dialect.js';
import { createKyselyStorage } from '../sql/create-stores.js';
import type { Storage } from '../storage.js';
import { openSqlite, type SqliteOptions } from './create-sqlite-database.js';

/** The log database beside a main database file (`tessera.db` → `tessera-log.db`). */
export function logFileOf(file: string): string {
  return file === ':memory:' ? ':memory:' : file.replace(/(\.db)?$/, '-log.db');
}

/**
 * The embedded storage adapter: SQLite through better-sqlite3 (WAL, incremental auto-vacuum), two files: the main
 * database and the ingest log (`logFileOf`), so that a group-committed append never waits for a pipeline batch.
 */
export function createSqliteStorage(opts: SqliteOptions): Storage & { checkpoint(): void } {
  const main = openSqlite(opts);
  const log = openSqlite({ ...opts, file: logFileOf(opts.file) });
  const storage = createKyselyStorage(
    main.db,
    sqliteDialect,
    async () => {
      await main.db.destroy();
      await log.db.destroy();
    },
    log.db,
    main.direct,
  );
  return {
    ...storage,
    checkpoint() {
      main.raw.pragma('wal_checkpoint(PASSIVE)');
      log.raw.pragma('wal_checkpoint(PASSIVE)');
    },
  };
}

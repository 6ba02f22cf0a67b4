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
    async scrub(attempts = 50) {
      // TRUNCATE copies the WAL into the database and empties the WAL file; it fails (busy) while another
      // connection reads or writes: tried again, 100 ms apart.
      for (let n = 1; n <= attempts; n++) {
        const busy = [main, log].some((c) => (c.raw.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy);
        if (!busy) return { ok: true, attempts: n };
        await new Promise((r) => setTimeout(r, 100));
      }
      return { ok: false, attempts };
    },
  };
}

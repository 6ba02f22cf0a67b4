import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.js';
import type { DirectRunner } from '../sql/raw.js';

export interface SqliteOptions {
  /** A file path, or `:memory:`. */
  readonly file: string;
  readonly durability?: 'normal' | 'full';
  /** Open read-only (a reader connection beside the writer thread). */
  readonly readonly?: boolean;
  /**
   * WAL checkpoints are run by a checkpointer thread (`checkpointer.ts`), not by this connection's commits. By
   * default SQLite copies the WAL into the database inside the commit that takes it past 1,000 pages: on a large
   * store that is a third of a pipeline batch's time (docs/performance.md).
   */
  readonly externalCheckpoints?: boolean;
}

/**
 * Opens a SQLite database with Tessera's pragmas: WAL, `auto_vacuum=INCREMENTAL` (set before the first table),
 * `synchronous=NORMAL` (survives a process crash) or `FULL` (survives power loss), a busy timeout for the rare
 * management write from a second connection, foreign keys off (integrity is the engine's).
 */
export function openSqlite(opts: SqliteOptions): {
  db: Kysely<Database>;
  raw: BetterSqlite3.Database;
  /** Runs one statement on the connection, bypassing Kysely (see `runDirectlyIn`). */
  direct: DirectRunner;
} {
  if (opts.file !== ':memory:') mkdirSync(path.dirname(opts.file), { recursive: true });
  const raw = new BetterSqlite3(opts.file, { readonly: opts.readonly ?? false });
  if (!opts.readonly) {
    raw.pragma('auto_vacuum = INCREMENTAL');
    raw.pragma('journal_mode = WAL');
    raw.pragma(`synchronous = ${opts.durability === 'full' ? 'FULL' : 'NORMAL'}`);
  }
  raw.pragma('busy_timeout = 5000');
  // Deleted and overwritten content is zeroed, not left in free pages: an erased person leaves no bytes behind
  // (DESIGN §8, docs/privacy.md).
  raw.pragma('secure_delete = ON');
  raw.pragma('cache_size = -65536');
  if (opts.externalCheckpoints) raw.pragma('wal_autocheckpoint = 0');
  // Once checkpointed and restarted, a WAL grown past 64 MB (a burst) is truncated back to that.
  raw.pragma('journal_size_limit = 67108864');
  raw.pragma('temp_store = MEMORY');
  // SQLite's lower() folds ASCII only; search must match 'Émilie' with 'émilie' as PostgreSQL does.
  raw.function('lower', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
  raw.defaultSafeIntegers(false);
  const statements = withStatementCache(raw);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  const direct: DirectRunner = (text, params) => {
    const stmt = statements.prepare(text);
    if (stmt.reader) return stmt.all(params as unknown[]);
    stmt.run(params as unknown[]);
    return [];
  };
  return { db, raw, direct };
}

/**
 * Kysely prepares every statement on each execution; preparing costs more than running most of ours. Statements
 * are reusable in better-sqlite3 (Kysely runs them to completion with `all` / `run`), so they are cached by SQL
 * text, up to `max` (the engine's statement shapes are few; a full cache is simply cleared).
 */
function withStatementCache(raw: BetterSqlite3.Database, max = 2000) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        if (cache.size >= max) cache.clear();
        stmt = raw.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

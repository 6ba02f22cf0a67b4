import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.js';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize?: number;
}

/**
 * Opens a PostgreSQL pool (the `pg` driver is loaded lazily: embedded installs never load it). bigint (int8)
 * columns are parsed to numbers (every one of ours is an epoch-ms time or a position below 2^53); json / jsonb
 * are returned as text.
 */
export async function openPostgres(opts: PostgresOptions): Promise<{ db: Kysely<Database>; end: () => Promise<void> }> {
  const pg = (await import('pg')).default;
  const types = {
    getTypeParser(oid: number, format?: string) {
      if (oid === 20) return (v: string) => Number(v);
      // json / jsonb stay text: `fromJson` parses them, as it does SQLite's TEXT (one code path for both).
      if (oid === 114 || oid === 3802) return (v: string) => v;
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    types,
    // An unreachable host fails a query within seconds instead of the OS connect timeout.
    connectionTimeoutMillis: 5000,
  });
  // An idle client whose server restarted emits 'error' on the pool; unhandled, it would end the process. The
  // next query gets a fresh connection (or fails as transient while the server is down).
  pool.on('error', () => undefined);
  // The same for a client in use (checked out by a transaction): its query fails, and the error reaches the caller
  // through that query; the 'error' event must not end the process on its own.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, end: () => db.destroy() };
}

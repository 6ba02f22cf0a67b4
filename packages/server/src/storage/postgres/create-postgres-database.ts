import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.js';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize?: number;
}

/**
 * Opens a PostgreSQL pool (the `pg` driver is loaded lazily: embedded installs never load it). bigint (int8)
 * columns are parsed to numbers: every one of ours is an epoch-ms time or a position below 2^53.
 */
export async function openPostgres(opts: PostgresOptions): Promise<{ db: Kysely<Database>; end: () => Promise<void> }> {
  const pg = (await import('pg')).default;
  const types = {
    getTypeParser(oid: number, format?: string) {
      if (oid === 20) return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, types });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, end: () => db.destroy() };
}

import { postgresDialect } from '../dialect.js';
import { createKyselyStorage } from '../sql/create-stores.js';
import type { Storage } from '../storage.js';
import { openPostgres, type PostgresOptions } from './create-postgres-database.js';

/** The cluster storage adapter: PostgreSQL through `pg` (loaded lazily). */
export async function createPostgresStorage(opts: PostgresOptions): Promise<Storage> {
  const { db, end } = await openPostgres(opts);
  return createKyselyStorage(db, postgresDialect, end);
}

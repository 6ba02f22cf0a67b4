import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { SqlDialect } from './dialect.js';
import { initialSchema, logSchema } from './migrations/001-initial.js';
import { jobRunsSchema } from './migrations/002-job-runs.js';
import { batchSeqSchema } from './migrations/003-batch-seq.js';
import { distributionKeysSchema } from './migrations/004-distribution-keys.js';
import { reviewUnmergeSchema } from './migrations/005-review-unmerge.js';
import { audiencesSchema } from './migrations/006-audiences.js';
import { personalizationSchema } from './migrations/007-personalization.js';
import { rfmSchema } from './migrations/008-rfm.js';
import { destinationsSchema } from './migrations/009-destinations.js';
import { privacySchema } from './migrations/010-privacy.js';
import { accessSchema } from './migrations/011-access.js';
import { processedRecentSchema } from './migrations/012-processed-recent.js';
import { monthlyPartitionStatements } from './migrations/monthly-partitions.js';
import type { Database } from './schema.js';

export type Migrations = Readonly<Record<string, (d: SqlDialect) => string[]>>;

/** The ordered migrations of the main database, each a list of statements built from the dialect's fragments. */
const MAIN: Migrations = {
  '001-initial': initialSchema,
  '002-job-runs': jobRunsSchema,
  '003-batch-seq': batchSeqSchema,
  '004-distribution-keys': distributionKeysSchema,
  '005-review-unmerge': reviewUnmergeSchema,
  '006-audiences': audiencesSchema,
  '007-personalization': personalizationSchema,
  '008-rfm': rfmSchema,
  '009-destinations': destinationsSchema,
  '010-privacy': privacySchema,
  '011-access': accessSchema,
  '012-processed-recent': processedRecentSchema,
};
/** The ordered migrations of the ingest log (a database of its own in SQLite, the same one in PostgreSQL). */
const LOG: Migrations = { '000-log': logSchema };

/** Every migration's statements for `d`, by database: for tests that read the schema as the migrations build it. */
export function migrationStatements(d: SqlDialect): { main: string[]; log: string[] } {
  return { main: Object.values(MAIN).flatMap((m) => m(d)), log: Object.values(LOG).flatMap((m) => m(d)) };
}

/** Which schemas a database holds. */
export type SchemaPart = 'main' | 'log' | 'all';

function provider(dialect: SqlDialect, part: SchemaPart): MigrationProvider {
  const MIGRATIONS: Migrations = part === 'main' ? MAIN : part === 'log' ? LOG : { ...LOG, ...MAIN };
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, build] of Object.entries(MIGRATIONS)) {
        out[name] = {
          async up(db: Kysely<unknown>) {
            for (const statement of build(dialect)) await sql.raw(statement).execute(db);
          },
        };
      }
      return out;
    },
  };
}

/** Brings the schema up to date (both dialects, same migrations); idempotent. Returns the names applied. */
export async function migrateToLatest(
  db: Kysely<any>,
  dialect: SqlDialect,
  part: SchemaPart,
  now = new Date(),
): Promise<string[]> {
  // In PostgreSQL, keep Kysely's migration tables in the current schema: it otherwise finds another schema's.
  const schema = dialect.currentSchemaSql
    ? ((await sql.raw<{ s: string }>(dialect.currentSchemaSql).execute(db)).rows[0]?.s ?? undefined)
    : undefined;
  const migrator = new Migrator({ db, provider: provider(dialect, part), migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  if (part !== 'main') await createMonthlyPartitions(db, dialect, now, 1, 3);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Creates, if absent, the default partitions of `ingest_log` and `events` and their monthly partitions from
 * `monthsBack` months before the month of `now` to `monthsAhead` months after it (PostgreSQL; a no-op in dialects
 * without partitions). A month whose rows already sit in the default partition cannot be created; they stay there.
 */
export async function createMonthlyPartitions(
  db: Kysely<Database>,
  dialect: SqlDialect,
  now: Date,
  monthsBack: number,
  monthsAhead: number,
): Promise<void> {
  if (dialect.name !== 'postgres') return;
  for (const statement of monthlyPartitionStatements(now, monthsBack, monthsAhead)) {
    try {
      await sql.raw(statement).execute(db);
    } catch (e) {
      if (!/default partition|would be violated/i.test(String(e))) throw e;
    }
  }
}

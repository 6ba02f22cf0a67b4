import { createPostgresStorage } from '../storage/postgres/create-postgres-storage.js';
import { createScratchSchema } from '../storage/postgres/scratch-schema.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import type { Storage } from '../storage/storage.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** Why it is skipped, when it is. */
  skip?: string;
  /** A fresh, migrated, empty store. */
  create(): Promise<Storage>;
}

/** PostgreSQL URL for tests; under CI=true its absence is an error, not a skip (README, `.ci/run`). */
export function testDatabaseUrl(env: Record<string, string | undefined> = process.env): string | undefined {
  const url = env.TESSERA_TEST_DATABASE_URL;
  if (!url && env.CI === 'true')
    throw new Error('CI=true but TESSERA_TEST_DATABASE_URL is not set: PostgreSQL suites cannot be skipped in CI');
  return url || undefined;
}

/** Every adapter a contract suite runs on: SQLite always, PostgreSQL when a test database is configured. */
export function testDatabases(): TestDatabase[] {
  const url = testDatabaseUrl();
  return [
    {
      name: 'sqlite',
      async create() {
        const s = createSqliteStorage({ file: ':memory:' });
        await s.migrate();
        return s;
      },
    },
    {
      name: 'postgres',
      skip: url ? undefined : 'TESSERA_TEST_DATABASE_URL is not set',
      async create() {
        // Each store gets its own schema, dropped on close.
        const schema = await createTestSchema(url as string);
        const s = await createPostgresStorage({ url: schema.url, poolSize: 4 });
        await s.migrate();
        const close = s.close;
        return {
          ...s,
          async close() {
            await close();
            await schema.drop();
          },
        };
      },
    },
  ];
}

/**
 * A fresh, empty schema of the test database, and a URL whose connections use it (`search_path`). Its `drop` does
 * nothing: the run's schemas are dropped once every test file has finished (`global-setup.ts`).
 */
export async function createTestSchema(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = await createScratchSchema(url, `t_${process.env.TESSERA_TEST_RUN ?? 'adhoc'}`);
  return { url: schema.url, drop: async () => {} };
}

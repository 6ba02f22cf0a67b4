import { randomBytes } from 'node:crypto';

/**
 * Vitest's global setup: one id per test run, for the PostgreSQL schemas its tests create (`t_<run>_…`). They are
 * dropped here, after every test file has finished, not by each test: dropping a schema while another test file's
 * migration reads the catalog makes that migration fail ("schema … does not exist", from the introspector's
 * `has_schema_privilege` over every schema).
 */
export async function setup(): Promise<() => Promise<void>> {
  const run = randomBytes(4).toString('hex');
  process.env.TESSERA_TEST_RUN = run;
  return async () => {
    const url = process.env.TESSERA_TEST_DATABASE_URL;
    if (!url) return;
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ nspname: string }>('select nspname from pg_namespace where nspname like $1', [
        `t\\_${run}\\_%`,
      ]);
      for (const r of rows) await c.query(`drop schema if exists ${r.nspname} cascade`);
    } finally {
      await c.end();
    }
  };
}

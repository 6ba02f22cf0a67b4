import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { startStandIn } from '../destinations/test/stand-in.js';
import { createTestSchema, testDatabaseUrl } from '../test/databases.js';
import { eraseZoe, loadPerson, needles, OTHER, sendAgain } from './test/erasure-scenario.js';

/**
 * Issue 7's erasure test on PostgreSQL (`erasure.test.ts` is the embedded one): the same person, erased by e-mail;
 * then no row of any table of the schema, read as text (`t::text`), holds any of their values. Dead row versions
 * stay in the table files until PostgreSQL's vacuum reclaims them (docs/privacy.md).
 */

const url = testDatabaseUrl();
if (!url) console.log('PostgreSQL erasure test skipped: TESSERA_TEST_DATABASE_URL is not set');

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe.skipIf(!url)('erasure (postgres)', () => {
  it('leaves none of the person in any row of any table, and suppresses them afterwards', async () => {
    const schema = await createTestSchema(url as string);
    closers.push(() => schema.drop());
    const receiver = await startStandIn(() => ({ status: 200 }));
    closers.push(() => receiver.close());
    const app = await createApp(
      loadConfig(
        { TESSERA_DATABASE_URL: schema.url, TESSERA_INSTANCE_SECRET: 'ab'.repeat(32) },
        { logLevel: 'silent' },
      ),
      { pipeline: false, logger: pino({ level: 'silent' }) },
    );
    closers.push(() => app.close());
    const person = await loadPerson(app, `${receiver.url}/hook`);
    await eraseZoe(app, person.call);

    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    closers.push(() => client.end());
    const { rows: tables } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`,
    );
    expect(tables.length).toBeGreaterThan(30);
    const found: string[] = [];
    for (const { table_name: t } of tables)
      for (const n of needles(person.profileId)) {
        const { rows } = await client.query<{ n: string }>(`select count(*) as n from "${t}" x where x::text like $1`, [
          `%${n.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
        ]);
        if (Number(rows[0]?.n) > 0) found.push(`${t}: ${n}`);
      }
    expect(found).toEqual([]);
    const { rows: other } = await client.query('select count(*) as n from identities where value = $1', [OTHER.email]);
    expect(Number(other[0]?.n)).toBe(1);

    await sendAgain(app, person);
  }, 60_000);
});

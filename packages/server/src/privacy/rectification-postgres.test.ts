import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, it } from 'vitest';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { startStandIn } from '../destinations/test/stand-in.js';
import { createTestSchema, testDatabaseUrl } from '../test/databases.js';
import { RECTIFIED } from './mentions.js';
import {
  expectOnlyBobKeepsIt,
  expectRectified,
  loadPeople,
  rectifyZoe,
  SCANNED,
  WRONG,
} from './test/rectification-scenario.js';

/**
 * Rectification on PostgreSQL (`rectification.test.ts` is the embedded one): the same two people, the same
 * correction; then the tables, each row read as text (`t::text`), hold the wrong value only in the other person's
 * rows, and `"[rectified]"` in hers.
 */

const url = testDatabaseUrl();
if (!url) console.log('PostgreSQL rectification test skipped: TESSERA_TEST_DATABASE_URL is not set');

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe.skipIf(!url)('rectification (postgres)', () => {
  it('corrects the profile and its history, redacts her raw payloads, and leaves another Smiht alone', async () => {
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
    const person = await loadPeople(app, `${receiver.url}/hook`);
    const done = await rectifyZoe(app, person.call);
    await expectRectified(person, done);

    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    closers.push(() => client.end());
    const rowsHolding = async (token: string) => {
      const out = {} as Record<(typeof SCANNED)[number], number>;
      for (const table of SCANNED) {
        const { rows } = await client.query<{ n: string }>(
          `select count(*) as n from "${table}" x where strpos(x::text, $1) > 0`,
          [token],
        );
        out[table] = Number(rows[0]?.n);
      }
      return out;
    };
    expectOnlyBobKeepsIt(await rowsHolding(JSON.stringify(WRONG)), await rowsHolding(JSON.stringify(RECTIFIED)));
  }, 60_000);
});

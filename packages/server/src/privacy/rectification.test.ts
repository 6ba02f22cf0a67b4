import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromPublicId } from '@tessera/protocol';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { startStandIn } from '../destinations/test/stand-in.js';
import { RECTIFIED } from './mentions.js';
import {
  BOB,
  expectOnlyBobKeepsIt,
  expectRectified,
  loadPeople,
  RIGHT,
  rectifyZoe,
  SCANNED,
  WRONG,
  ZOE,
} from './test/rectification-scenario.js';

/**
 * Rectification (GDPR art. 16, docs/privacy.md "Rectification"), embedded on a data directory: a person sent with a
 * misspelt last name by two sources is rectified; the profile shows the new value now and as of any earlier time,
 * the history records the correction, no row of hers in the raw tables still holds the wrong value, and another
 * person with that same last name keeps it everywhere. `rectification-postgres.test.ts` runs it on PostgreSQL.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function open(dataDir: string): Promise<App> {
  const app = await createApp(loadConfig({ TESSERA_DATA_DIR: dataDir }, { logLevel: 'silent' }), {
    pipeline: false,
    writerThread: false,
    logger: pino({ level: 'silent' }),
  });
  closers.push(() => app.close());
  return app;
}

/** Per table, the rows whose text holds `token` (the files read directly, the app still open: WAL readers). */
function rowsHolding(dataDir: string, token: string): Record<(typeof SCANNED)[number], number> {
  const out = {} as Record<(typeof SCANNED)[number], number>;
  for (const table of SCANNED) {
    const file = path.join(dataDir, table === 'ingest_log' ? 'tessera-log.db' : 'tessera.db');
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      const rows = db.prepare(`select * from ${table}`).all();
      out[table] = rows.filter((r) => Object.values(r as object).some((v) => String(v).includes(token))).length;
    } finally {
      db.close();
    }
  }
  return out;
}

describe('rectification (embedded, a data directory)', () => {
  it('corrects the profile and its history, redacts her raw payloads, and leaves another Smiht alone', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-rectify-'));
    closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const receiver = await startStandIn(() => ({ status: 200 }));
    closers.push(() => receiver.close());
    const app = await open(dataDir);
    const person = await loadPeople(app, `${receiver.url}/hook`);
    const done = await rectifyZoe(app, person.call);
    await expectRectified(person, done);
    expectOnlyBobKeepsIt(rowsHolding(dataDir, JSON.stringify(WRONG)), rowsHolding(dataDir, JSON.stringify(RECTIFIED)));
    // Only whole strings: her order's note ("Smiht family") is not the wrong value.
    const events = (await person.call('GET', `/v1/profiles/${person.zoeId}/events?limit=100`)).body.items;
    const order = events.find((e: { event?: string }) => e.event === 'Order Completed');
    expect(order.properties).toEqual({ total: 120, shipToLastName: RECTIFIED, note: `${WRONG} family` });

    // Downstream: a traits change was published for her (audiences re-check, destinations follow).
    const changes = await app.storage.changes.ofProfiles([fromPublicId('profile', person.zoeId) as string]);
    expect(changes.filter((c) => c.kind === 'profile.traits_changed').at(-1)?.payload).toMatchObject({
      traits: ['lastName'],
    });
    // A rule reading the events' observations does not take a redacted value for one: "[rectified]" is no name.
    await app.survivorship.put(
      { default: { rule: 'most_recent' }, traits: { lastName: { rule: 'most_frequent' } } },
      'test',
    );
    expect((await person.call('GET', `/v1/profiles/${person.zoeId}`)).body.traits.lastName).toBe(RIGHT);
    expect((await person.call('GET', `/v1/profiles/by/email/${BOB.email}`)).body.traits.lastName).toBe(WRONG);
  }, 60_000);

  it('moves a corrected e-mail identifier, and fails whole when another person holds the new one', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-rectify-'));
    closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const receiver = await startStandIn(() => ({ status: 200 }));
    closers.push(() => receiver.close());
    const app = await open(dataDir);
    const { call, zoeId } = await loadPeople(app, `${receiver.url}/hook`);
    const request = async (corrections: Record<string, unknown>) => {
      const made = await call('POST', '/v1/privacy/requests', {
        type: 'rectify',
        identifier: { type: 'user_id', value: ZOE.userId },
        corrections,
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      await app.privacy.settled(made.body.id);
      return (await call('GET', `/v1/privacy/requests/${made.body.id}`)).body;
    };

    const refused = await request({ email: BOB.email.toUpperCase(), lastName: RIGHT });
    expect(refused).toMatchObject({ status: 'failed', proof: null });
    expect(refused.error).toBe('corrections.email: another person holds this email');
    // Nothing of it was written: the last name is still wrong, the e-mail still hers.
    const unchanged = (await call('GET', `/v1/profiles/${zoeId}`)).body;
    expect(unchanged.traits).toMatchObject({ email: ZOE.email, lastName: WRONG });

    const moved = await request({ email: ' Zoe.New@Example.org ' });
    expect(moved).toMatchObject({ status: 'completed', proof: { traits: ['email'], identifiersChanged: 1 } });
    const byNew = await call('GET', '/v1/profiles/by/email/zoe.new@example.org');
    expect(byNew.body.id).toBe(zoeId);
    expect(byNew.body.traits.email).toBe(' Zoe.New@Example.org ');
    expect((await call('GET', `/v1/profiles/by/email/${ZOE.email}`)).status).toBe(404);

    // A removal: the trait goes from the profile; the history holds null where the wrong value was.
    const removed = await request({ lastName: null });
    expect(removed).toMatchObject({ status: 'completed', proof: { traits: ['lastName'], profilesTouched: 1 } });
    const after = (await call('GET', `/v1/profiles/${zoeId}`)).body;
    expect(after.traits).not.toHaveProperty('lastName');
    const history = (await call('GET', `/v1/profiles/${zoeId}/history?trait=lastName`)).body.items;
    expect(history.map((r: { value: unknown }) => r.value)).not.toContain(WRONG);

    const nobody = await request({ lastName: RIGHT });
    expect(nobody.status).toBe('completed');
    const unknown = await call('POST', '/v1/privacy/requests', {
      type: 'rectify',
      identifier: { type: 'email', value: 'nobody@example.org' },
      corrections: { lastName: RIGHT },
    });
    await app.privacy.settled(unknown.body.id);
    expect((await call('GET', `/v1/privacy/requests/${unknown.body.id}`)).body.status).toBe('not_found');
  }, 60_000);
});

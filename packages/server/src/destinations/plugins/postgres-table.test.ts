import type { Static } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestSchema, testDatabaseUrl } from '../../test/databases.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type PostgresTableConfig, postgresTableDdl, postgresTableDestination } from './postgres-table.js';

type Config = Static<typeof PostgresTableConfig>;

const dbUrl = testDatabaseUrl();
const unset = dbUrl ? '' : ' (skipped: TESSERA_TEST_DATABASE_URL is not set)';
if (!dbUrl) console.log('postgres table destination suite skipped: TESSERA_TEST_DATABASE_URL is not set');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROFILE = '0191d000-0000-7000-8000-000000000001';

describe.skipIf(!dbUrl)(`postgres table destination${unset}`, () => {
  let url: string;
  let db: pg.Client;
  beforeEach(async () => {
    const schema = await createTestSchema(dbUrl as string);
    url = schema.url;
    db = new pg.Client({ connectionString: url });
    await db.connect();
    cleanups.push(
      () => schema.drop(),
      () => db.end(),
    );
  });

  function setUp(sync: Config['sync'], table = sync === 'profiles' ? 'dest_profiles' : 'dest_members') {
    const { ctx, close } = testSendContext<Config>({ url, table, sync });
    cleanups.push(close);
    return ctx;
  }

  const send = (batch: DeliveryMessage[], ctx: ReturnType<typeof setUp>) => postgresTableDestination.send(batch, ctx);
  const rows = async (sql: string) => (await db.query(sql)).rows;

  describe('profiles', () => {
    const profile = (at: number, email: string, plan: string) =>
      testMessage({ profileId: PROFILE, at, identifiers: { userId: 'u1', email }, traits: { plan } });

    it('creates the table and upserts a profile row keyed by the public profile id', async () => {
      const ctx = setUp('profiles');
      const m = testMessage({
        at: Date.UTC(2026, 10, 1, 12, 0, 0),
        identifiers: { userId: 'u9', email: 'ada@example.com', phone: '+33612345678' },
        traits: { plan: 'gold', seats: 3 },
      });
      expect(await send([m], ctx)).toEqual({ kind: 'ok' });
      expect(
        await rows(
          `select column_name, data_type from information_schema.columns
           where table_schema = current_schema() and table_name = 'dest_profiles' order by ordinal_position`,
        ),
      ).toEqual([
        { column_name: 'profile_id', data_type: 'text' },
        { column_name: 'user_id', data_type: 'text' },
        { column_name: 'email', data_type: 'text' },
        { column_name: 'phone', data_type: 'text' },
        { column_name: 'traits', data_type: 'jsonb' },
        { column_name: 'updated_at', data_type: 'timestamp with time zone' },
      ]);
      expect(await rows('select * from dest_profiles')).toEqual([
        {
          profile_id: `prof_${m.profileId}`,
          user_id: 'u9',
          email: 'ada@example.com',
          phone: '+33612345678',
          traits: { plan: 'gold', seats: 3 },
          updated_at: new Date(Date.UTC(2026, 10, 1, 12, 0, 0)),
        },
      ]);
    });

    it('a later message updates the row; an older one does not overwrite it', async () => {
      const ctx = setUp('profiles');
      expect(await send([profile(2000, 'second@example.com', 'silver')], ctx)).toEqual({ kind: 'ok' });
      expect(await send([profile(1000, 'first@example.com', 'bronze')], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select email, traits, updated_at from dest_profiles')).toEqual([
        { email: 'second@example.com', traits: { plan: 'silver' }, updated_at: new Date(2000) },
      ]);
      expect(await send([profile(3000, 'third@example.com', 'gold')], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select email, traits, updated_at from dest_profiles')).toEqual([
        { email: 'third@example.com', traits: { plan: 'gold' }, updated_at: new Date(3000) },
      ]);
    });

    it('keeps the newest state when one batch holds several versions, in any order', async () => {
      const ctx = setUp('profiles');
      const batch = [profile(5000, 'newest@example.com', 'gold'), profile(4000, 'older@example.com', 'silver')];
      expect(await send(batch, ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select email from dest_profiles')).toEqual([{ email: 'newest@example.com' }]);
    });

    it('ignores event and audience messages', async () => {
      const ctx = setUp('profiles');
      const event = testMessage({
        kind: 'event',
        event: {
          id: '0191c000-0000-7000-8000-000000000001',
          type: 'track',
          name: 'Signed Up',
          messageId: 'm1',
          timestamp: 1000,
          properties: null,
          traits: null,
          context: null,
        },
      });
      const audience = testMessage({ kind: 'audience', audience: { key: 'vip', name: 'VIP', entered: true } });
      const kept = testMessage();
      expect(await send([event, audience, kept], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select profile_id from dest_profiles')).toEqual([{ profile_id: `prof_${kept.profileId}` }]);
    });
  });

  describe('audience members', () => {
    const change = (key: string, entered: boolean, profileId = PROFILE) =>
      testMessage({
        kind: 'audience',
        profileId,
        identifiers: { userId: 'u1', email: 'ada@example.com' },
        audience: { key, name: key, entered },
      });

    it('an enter inserts a member row, an exit deletes it', async () => {
      const ctx = setUp('audience_members');
      const other = '0191d000-0000-7000-8000-000000000002';
      expect(await send([change('vip', true), change('churn', true), change('vip', true, other)], ctx)).toEqual({
        kind: 'ok',
      });
      expect(
        await rows('select audience_key, profile_id, user_id, email, entered_at from dest_members order by 1, 2'),
      ).toEqual([
        {
          audience_key: 'churn',
          profile_id: `prof_${PROFILE}`,
          user_id: 'u1',
          email: 'ada@example.com',
          entered_at: new Date(Date.UTC(2026, 10, 1, 12, 0, 0)),
        },
        {
          audience_key: 'vip',
          profile_id: `prof_${PROFILE}`,
          user_id: 'u1',
          email: 'ada@example.com',
          entered_at: new Date(Date.UTC(2026, 10, 1, 12, 0, 0)),
        },
        {
          audience_key: 'vip',
          profile_id: `prof_${other}`,
          user_id: 'u1',
          email: 'ada@example.com',
          entered_at: new Date(Date.UTC(2026, 10, 1, 12, 0, 0)),
        },
      ]);
      expect(await send([change('vip', false)], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select audience_key, profile_id from dest_members order by 1, 2')).toEqual([
        { audience_key: 'churn', profile_id: `prof_${PROFILE}` },
        { audience_key: 'vip', profile_id: `prof_${other}` },
      ]);
    });

    it('an exit older than the stay it finds (a replayed dead letter) leaves the member in place', async () => {
      const ctx = setUp('audience_members');
      const later = { ...change('vip', true), at: Date.UTC(2026, 10, 2) };
      expect(await send([later], ctx)).toEqual({ kind: 'ok' });
      expect(await send([{ ...change('vip', false), at: Date.UTC(2026, 10, 1) }], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select audience_key from dest_members')).toEqual([{ audience_key: 'vip' }]);
      expect(await send([{ ...change('vip', false), at: Date.UTC(2026, 10, 3) }], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select audience_key from dest_members')).toEqual([]);
    });

    it('an enter sent again keeps one row; an exit of a non-member is ok', async () => {
      const ctx = setUp('audience_members');
      expect(await send([change('vip', true)], ctx)).toEqual({ kind: 'ok' });
      expect(await send([change('vip', true)], ctx)).toEqual({ kind: 'ok' });
      expect(await send([change('gone', false)], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select audience_key from dest_members')).toEqual([{ audience_key: 'vip' }]);
    });

    it('ignores profile messages', async () => {
      const ctx = setUp('audience_members');
      expect(await send([testMessage()], ctx)).toEqual({ kind: 'ok' });
      expect(await rows('select * from dest_members')).toEqual([]);
    });
  });

  describe('failures', () => {
    it('drops when the table exists with columns that do not fit, with the SQLSTATE in the reason', async () => {
      await db.query('create table dest_profiles (id integer primary key, name text)');
      const ctx = setUp('profiles');
      const outcome = await send([testMessage()], ctx);
      expect(outcome).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/^postgres: .*\(42703\)$/) });
      expect(await rows('select * from dest_profiles')).toEqual([]);
    });

    it('rolls the whole batch back when one statement fails', async () => {
      const ctx = setUp('audience_members');
      // Exists, but entered_at is an integer: the statements fail on its type, and nothing of the batch stays.
      await db.query(
        'create table dest_members (audience_key text not null, profile_id text not null, user_id text, email text, entered_at integer not null, primary key (audience_key, profile_id))',
      );
      await db.query(`insert into dest_members values ('a', $1, 'u1', null, 0)`, [`prof_${PROFILE}`]);
      const outcome = await send(
        [
          testMessage({ kind: 'audience', profileId: PROFILE, audience: { key: 'a', name: 'a', entered: false } }),
          testMessage({ kind: 'audience', profileId: PROFILE, audience: { key: 'b', name: 'b', entered: true } }),
        ],
        ctx,
      );
      expect(outcome).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/\((42804|42883)\)$/) });
      expect(await rows('select audience_key, profile_id from dest_members')).toEqual([
        { audience_key: 'a', profile_id: `prof_${PROFILE}` },
      ]);
    });

    it('retries when the database cannot be reached', async () => {
      const { ctx, close } = testSendContext<Config>({
        url: 'postgres://postgres@127.0.0.1:1/test',
        table: 'dest_profiles',
        sync: 'profiles',
      });
      cleanups.push(close);
      expect(await send([testMessage()], ctx)).toMatchObject({
        kind: 'retry',
        reason: expect.stringMatching(/^postgres: /),
      });
    });
  });

  it('postgresTableDdl quotes a schema-qualified table name', () => {
    expect(postgresTableDdl('crm.people', 'profiles')).toMatch(/^create table if not exists "crm"\."people" \(/);
    expect(postgresTableDdl('members', 'audience_members')).toContain('primary key (audience_key, profile_id)');
  });
});

import { type AndCondition, type AudienceDefinition, EXAMPLE_AUDIENCE } from '@tessera/protocol';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { ConsentRow, EventRow } from '../profiles/ports.js';
import { createSeededRandom, type SeededRandom } from '../seeded-random.js';
import { postgresDialect, sqliteDialect } from '../storage/dialect.js';
import { openPostgres } from '../storage/postgres/create-postgres-database.js';
import type { Database } from '../storage/schema.js';
import { createKyselyStorage } from '../storage/sql/create-stores.js';
import { rawQuery } from '../storage/sql/raw.js';
import { openSqlite } from '../storage/sqlite/create-sqlite-database.js';
import type { Storage } from '../storage/storage.js';
import { createTestSchema, testDatabases, testDatabaseUrl } from '../test/databases.js';
import { compileAudience, compileRecompute, staticConjuncts } from './compile-sql.js';
import { computeTrait } from './computed-trait.js';
import { evaluateAudience } from './evaluate.js';
import { nextExpiry } from './next-expiry.js';
import { parseAudience } from './parse-audience.js';
import type { MembershipRow } from './ports.js';
import type { ProfileSnapshot } from './profile-snapshot.js';
import {
  AUDIENCE_KEYS,
  EVENT_NAMES,
  PURPOSES,
  randomComputedTraits,
  randomDefinition,
  randomObject,
} from './test-random-audience.js';
import { DAY, HOUR, NOW } from './test-snapshot.js';

/**
 * Agreement of the SQL compiler with the evaluator (docs/audiences.md): on every test database, one data set is
 * stored through the storage ports, and for table-driven and seeded random definitions the members the compiled
 * query selects are exactly those `evaluateAudience` accepts on snapshots built from the same rows.
 */

const SOURCE = newUuid();

/** A storage of `testDatabases()` with the Kysely handle the compiled query runs on (no port runs raw SQL). */
async function open(name: 'sqlite' | 'postgres'): Promise<{ storage: Storage; db: Kysely<Database> }> {
  if (name === 'sqlite') {
    const main = openSqlite({ file: ':memory:' });
    const storage = createKyselyStorage(main.db, sqliteDialect, () => main.db.destroy());
    await storage.migrate();
    return { storage, db: main.db };
  }
  const schema = await createTestSchema(testDatabaseUrl() as string);
  // One connection, JIT off: compiling a definition's large expressions takes PostgreSQL about a second per query,
  // far more than running them on a few dozen profiles (docs/audiences.md, "SQL compiler").
  const { db, end } = await openPostgres({ url: schema.url, poolSize: 1 });
  await sql`set jit = off`.execute(db);
  const storage = createKyselyStorage(db, postgresDialect, end);
  await storage.migrate();
  return { storage, db };
}

interface Fixture {
  /** Named profiles of the table tests, by name. */
  named: Map<string, string>;
  survivors: string[];
}

/** Event times around the windows' edges. */
function eventTime(r: SeededRandom): number {
  const base = r.pick([NOW, NOW - HOUR, NOW - DAY, NOW - 2 * DAY, NOW - 14 * DAY, NOW - 30 * DAY, NOW - 36 * HOUR]);
  const k = r.int(0, 5);
  if (k === 0) return Date.parse(r.pick(['2024-05-01', '2024-05-31T12:00:00Z', '2024-06-01T12:00:00Z']));
  return base + r.pick([0, 0, 1, -1, -HOUR]);
}

async function seed(storage: Storage): Promise<Fixture> {
  const r = createSeededRandom(20240601);
  const named = new Map<string, string>();
  const profiles: { id: string; traits: Record<string, unknown> }[] = [];
  const events: EventRow[] = [];
  const consents: ConsentRow[] = [];
  let position = 0;
  const event = (
    profileId: string,
    name: string,
    timestamp: number,
    properties: Record<string, unknown> | null,
    type = 'track',
  ) =>
    events.push({
      id: newUuid(),
      logPosition: ++position,
      sourceId: SOURCE,
      type,
      name,
      messageId: newUuid(),
      profileId,
      userId: null,
      anonymousId: null,
      timestamp,
      receivedAt: timestamp,
      properties,
      traits: null,
      context: null,
    });
  const consent = (profileId: string, purpose: string, granted: boolean, validFrom: number, superseded = false) =>
    consents.push({
      id: newUuid(),
      profileId,
      purpose,
      granted,
      legalBasis: 'consent',
      validFrom,
      recordedAt: validFrom,
      supersededAt: superseded ? validFrom + 1 : null,
      sourceId: SOURCE,
      eventId: null,
    });
  const profile = (traits: Record<string, unknown>, name?: string) => {
    const id = newUuid();
    profiles.push({ id, traits });
    if (name) named.set(name, id);
    return id;
  };

  // Named profiles: the worked example and a merged family.
  const gold = profile({ plan: 'gold' }, 'gold-2-orders');
  event(gold, 'Order Completed', NOW - DAY, { total: 60 });
  event(gold, 'Order Completed', NOW - 29 * DAY, { total: '51' });
  const goldEdge = profile({ plan: 'gold' }, 'gold-edge');
  event(goldEdge, 'Order Completed', NOW - DAY, { total: 60 });
  event(goldEdge, 'Order Completed', NOW - 30 * DAY, { total: 51 });
  event(goldEdge, 'Order Completed', NOW - 2 * DAY, { total: 50 });
  event(goldEdge, 'Order Completed', NOW - 3 * DAY, { total: 99 }, 'page');
  const survivor = profile({ plan: 'silver' }, 'survivor');
  const merged = profile({ plan: 'gold' }, 'merged');
  event(merged, 'Order Completed', NOW - DAY, { total: 70 });
  event(survivor, 'Order Completed', NOW - 2 * DAY, { total: 80 });
  consent(merged, 'marketing', true, NOW - 10 * DAY);
  consent(survivor, 'marketing', false, NOW - 5 * DAY);
  consent(survivor, 'analytics', true, NOW - DAY);
  consent(survivor, 'analytics', false, NOW + DAY);
  const inX = profile({ plan: 'gold' }, 'gold-in-x');
  event(inX, 'Order Completed', NOW - DAY, { total: 60 });
  event(inX, 'Order Completed', NOW - 2 * DAY, { total: 70 });
  profile({ address: { city: 'Paris' }, tags: ['vip', 7] }, 'parisian');
  profile({}, 'empty');

  // Random profiles; a few merged into others.
  const random: string[] = [];
  for (let i = 0; i < 60; i++) {
    const id = profile(randomObject(r));
    random.push(id);
    for (let k = r.int(0, 4); k > 0; k--) {
      event(
        id,
        r.pick(EVENT_NAMES),
        eventTime(r),
        r.chance(0.1) ? null : randomObject(r),
        r.chance(0.1) ? 'page' : 'track',
      );
    }
    for (const purpose of PURPOSES) {
      for (let k = r.int(0, 2); k > 0; k--) consent(id, purpose, r.chance(0.5), eventTime(r), r.chance(0.2));
    }
  }
  await storage.profiles.createMany(
    profiles.map((p) => ({ id: p.id, createdAt: NOW, updatedAt: NOW, traits: p.traits, traitTimes: {} })),
  );
  await storage.events.insert(events);
  await storage.consents.insert(consents);
  await storage.identities.redirect([merged], survivor, NOW, NOW);
  const redirected = new Set([merged]);
  for (let i = 0; i < 12; i += 3) {
    await storage.identities.redirect([random[i + 1], random[i + 2]], random[i], NOW, NOW);
    redirected.add(random[i + 1]).add(random[i + 2]);
  }
  // Accounts: some profiles linked to one or two, one through a merged id.
  const accounts: string[] = [];
  for (let i = 0; i < 6; i++) {
    const traits = randomObject(r);
    if (r.chance(0.5)) traits.plan = r.pick(['enterprise', 'free', 10]);
    accounts.push(await storage.accounts.upsert(`g${i}`, traits, NOW, newUuid()));
  }
  await storage.accounts.link(merged, accounts[0], SOURCE, NOW);
  await storage.accounts.link(named.get('parisian') as string, accounts[1], SOURCE, NOW);
  for (const id of random.slice(0, 30)) {
    if (r.chance(0.4)) await storage.accounts.link(id, r.pick(accounts), SOURCE, NOW);
  }
  // Stays in audiences: open and closed ones, and an open one on a merged id (which no longer counts).
  const stays: MembershipRow[] = [];
  const stay = (profileId: string, audienceKey: string, open: boolean) =>
    stays.push({
      id: newUuid(),
      audienceKey,
      profileId,
      enteredAt: NOW - DAY,
      exitedAt: open ? null : NOW - HOUR,
      enteredVersion: 1,
      exitedVersion: open ? null : 1,
      exitReason: open ? null : 'condition',
    });
  stay(inX, 'X', true);
  stay(gold, 'X', false);
  stay(merged, 'A', true);
  for (const id of random) {
    if (redirected.has(id)) continue;
    for (const key of AUDIENCE_KEYS.slice(0, 2)) if (r.chance(0.35)) stay(id, key, r.chance(0.7));
  }
  await storage.memberships.enter(stays);
  return { named, survivors: profiles.map((p) => p.id).filter((id) => !redirected.has(id)) };
}

/** The computed traits every definition of these tests may read (fixed: seeded). */
const COMPUTED = randomComputedTraits(createSeededRandom(77));

/** The snapshot of survivor `id` at `now`, read back through the storage ports. */
async function snapshotOf(storage: Storage, id: string, now: number): Promise<ProfileSnapshot> {
  const family = await storage.identities.family(id);
  const [row] = await storage.profiles.get([id]);
  const events = await storage.events.list({ profileIds: family, type: 'track', limit: 1_000_000 });
  const consents: Record<string, boolean> = {};
  // Ordered by valid_from, id: the last valid at `now` is the current one.
  for (const c of await storage.consents.current(family)) if (c.validFrom <= now) consents[c.purpose] = c.granted;
  const accounts = await storage.accounts.ofProfiles(family);
  const own = events.map((e) => ({
    id: e.id,
    name: e.name as string,
    timestamp: e.timestamp,
    properties: e.properties,
  }));
  const computedTraits: Record<string, unknown> = {};
  for (const [key, trait] of COMPUTED) {
    const value = computeTrait(trait, own, now);
    if (value !== undefined) computedTraits[key] = value;
  }
  return {
    traits: row.traits,
    computedTraits,
    events: own,
    consents,
    accounts: accounts.map((a) => ({ traits: a.traits })),
    audiences: new Set((await storage.memberships.current([id])).map((m) => m.audienceKey)),
  };
}

/** Random definitions of the agreement test, each checked on every survivor of the data set (about 70). */
const RANDOM_DEFINITIONS = 2000;

const args = (q: { text: string; params: unknown[] }) => [q.text, q.params] as const;

const TABLE: [string, AudienceDefinition, string[]?][] = [
  ['worked example', EXAMPLE_AUDIENCE, ['gold-2-orders']],
  [
    'worked example without the audience',
    { type: 'and', conditions: (EXAMPLE_AUDIENCE as AndCondition).conditions.slice(0, -1) },
    ['gold-2-orders', 'gold-in-x'],
  ],
  ['an open stay of a merged id does not count', { type: 'audience', key: 'A' }],
  [
    'events of the merged id count for the survivor',
    {
      type: 'event',
      name: 'Order Completed',
      aggregate: { fn: 'sum', property: 'total', compare: { op: 'equals', value: 150 } },
    },
    ['survivor'],
  ],
  ['consent of the family, latest valid now', { type: 'consent', purpose: 'marketing', state: 'denied' }],
  ['consent valid in the future is not current', { type: 'consent', purpose: 'analytics', state: 'granted' }],
  ['nested trait', { type: 'trait', key: 'address.city', compare: { op: 'starts_with', value: 'Pa' } }],
  ['array contains a number', { type: 'trait', key: 'tags', compare: { op: 'contains', value: 7 } }],
  ['not exists', { type: 'not', condition: { type: 'trait', key: 'plan', compare: { op: 'exists' } } }],
  [
    'sum of nothing is 0',
    { type: 'event', name: 'Nothing', aggregate: { fn: 'sum', property: 'total', compare: { op: 'lt', value: 10 } } },
  ],
  [
    'max of nothing is false',
    { type: 'event', name: 'Nothing', aggregate: { fn: 'max', property: 'total', compare: { op: 'lt', value: 10 } } },
  ],
  ['any account through a merged id', { type: 'entity', entity: 'account' }],
  [
    'date trait',
    { type: 'trait', key: 'signup', compare: { op: 'between', values: ['2024-04-30', '2024-05-01T00:00:00.001Z'] } },
  ],
  ['absolute window', { type: 'event', name: 'Visit', window: { from: '2024-05-01', to: '2024-06-01T12:00:00Z' } }],
  [
    '1 month is 30 days',
    {
      type: 'event',
      name: 'Order Completed',
      window: { last: 1, unit: 'months' },
      aggregate: { fn: 'min', property: 'total', compare: { op: 'gte', value: 51 } },
    },
  ],
];

for (const database of testDatabases()) {
  describe.skipIf(database.skip)(
    `compileAudience on ${database.name}${database.skip ? ` (${database.skip})` : ''}`,
    () => {
      let storage: Storage;
      let db: Kysely<Database>;
      let fixture: Fixture;
      let snapshots: Map<string, ProfileSnapshot>;

      beforeAll(async () => {
        ({ storage, db } = await open(database.name));
        fixture = await seed(storage);
        snapshots = new Map();
        for (const id of fixture.survivors) snapshots.set(id, await snapshotOf(storage, id, NOW));
      });
      afterAll(async () => storage?.close());

      async function agree(definition: AudienceDefinition): Promise<string[]> {
        const parsed = parseAudience(definition);
        const query = compileAudience(parsed, storage.dialect, NOW, { computedTraits: COMPUTED });
        const rows = await rawQuery<{ id: string }>(db, storage.dialect, query.text, query.params);
        const sql = rows.map((row) => row.id).sort();
        const expected = fixture.survivors.filter((id) => evaluateAudience(parsed, snapshots.get(id)!, NOW)).sort();
        expect(sql, JSON.stringify(definition)).toEqual(expected);
        return sql;
      }

      it.each(TABLE)('%s', async (_, definition, members) => {
        const sql = await agree(definition);
        if (members) {
          const byId = new Map([...fixture.named].map(([name, id]) => [id, name]));
          expect(sql.flatMap((id) => byId.get(id) ?? [])).toEqual([...members].sort());
        }
      });

      it(`agrees with the evaluator on ${RANDOM_DEFINITIONS} seeded random definitions`, {
        timeout: 900_000,
      }, async () => {
        const r = createSeededRandom(5);
        let members = 0;
        for (let i = 0; i < RANDOM_DEFINITIONS; i++) members += (await agree(randomDefinition(r))).length;
        // Not a test that passes on empty answers: the definitions select someone most of the time.
        expect(members).toBeGreaterThan(RANDOM_DEFINITIONS * 5);
      });

      it('recomputes in one pass: members and re-checks as the evaluator and nextExpiry say, on 1000 seeded random definitions', {
        timeout: 600_000,
      }, async () => {
        const r = createSeededRandom(11);
        let compared = 0;
        let skipped = 0;
        for (let i = 0; i < 1000; i++) {
          const definition = parseAudience(randomDefinition(r));
          const query = compileRecompute(definition, storage.dialect, NOW, COMPUTED);
          const rows = await rawQuery<{ id: string; m: number | string; due: number | string | null }>(
            db,
            storage.dialect,
            query.text,
            query.params,
          );
          const byId = new Map(rows.map((row) => [row.id, row]));
          const statics = staticConjuncts(definition);
          for (const id of fixture.survivors) {
            const snapshot = snapshots.get(id)!;
            const member = evaluateAudience(definition, snapshot, NOW);
            const row = byId.get(id);
            const what = `${JSON.stringify(definition)} on ${id}`;
            if (!row) {
              // Left out: a time-independent conjunct fails, so it is no member.
              expect(member, what).toBe(false);
              expect(
                statics.some((c) => !evaluateAudience(c, snapshot, NOW)),
                what,
              ).toBe(true);
              skipped++;
              continue;
            }
            expect(Number(row.m) === 1, what).toBe(member);
            const due = nextExpiry(definition, snapshot, NOW, COMPUTED);
            expect(row.due === null ? undefined : Number(row.due), what).toBe(due);
            if (due !== undefined) compared++;
          }
        }
        expect(compared).toBeGreaterThan(1000);
        expect(skipped).toBeGreaterThan(1000);
      });

      it('counts, tallies and samples with the same rules', async () => {
        const definition = parseAudience(EXAMPLE_AUDIENCE);
        const [{ n }] = await rawQuery<{ n: number | string }>(
          db,
          storage.dialect,
          ...args(compileAudience(definition, storage.dialect, NOW, { count: true })),
        );
        expect(Number(n)).toBe(1);
        const all = await rawQuery<{ id: string; m: number | string }>(
          db,
          storage.dialect,
          ...args(compileAudience(definition, storage.dialect, NOW, { tally: true })),
        );
        expect(all.map((row) => row.id).sort()).toEqual([...fixture.survivors].sort());
        expect(all.filter((row) => Number(row.m) === 1).map((row) => row.id)).toEqual([
          fixture.named.get('gold-2-orders'),
        ]);
        const everyone = await rawQuery<{ n: number | string }>(
          db,
          storage.dialect,
          ...args(compileAudience(null, storage.dialect, NOW, { count: true })),
        );
        expect(Number(everyone[0].n)).toBe(fixture.survivors.length);
        // A 30 % sample draws some survivors, not all of them, and never another row.
        const sample = await rawQuery<{ id: string }>(
          db,
          storage.dialect,
          ...args(compileAudience(null, storage.dialect, NOW, { fraction: 0.3, tally: true })),
        );
        expect(sample.length).toBeGreaterThan(0);
        expect(sample.length).toBeLessThan(fixture.survivors.length);
        for (const row of sample) expect(fixture.survivors).toContain(row.id);
      });

      it('refuses a computed trait it has no definition of', () => {
        const definition: AudienceDefinition = { type: 'computed_trait', key: 'ltv', compare: { op: 'exists' } };
        expect(() => compileAudience(definition, storage.dialect, NOW)).toThrow(TesseraError);
      });

      it('computes every computed trait as computeTrait does (each one compared with equals on its value)', async () => {
        let compared = 0;
        for (const [key] of COMPUTED) {
          const values = new Map<string, unknown>();
          for (const id of fixture.survivors) values.set(id, snapshots.get(id)!.computedTraits[key]);
          const distinct = [
            ...new Set([...values.values()].filter((v) => ['string', 'number', 'boolean'].includes(typeof v))),
          ];
          for (const value of distinct.slice(0, 6)) {
            compared++;
            await agree({
              type: 'computed_trait',
              key,
              compare: { op: 'equals', value: value as string | number | boolean },
            });
          }
          await agree({ type: 'computed_trait', key, compare: { op: 'exists' } });
        }
        expect(compared).toBeGreaterThan(40);
      });
    },
  );
}

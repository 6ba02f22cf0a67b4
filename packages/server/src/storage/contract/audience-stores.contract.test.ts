import type { AudienceDefinition } from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileAudience } from '../../audiences/compile-sql.js';
import type { AudienceRow, MembershipRow } from '../../audiences/ports.js';
import { newUuid } from '../../ids.js';
import type { EventRow, ProfileRow } from '../../profiles/ports.js';
import { testDatabases } from '../../test/databases.js';
import type { Storage } from '../storage.js';

/**
 * The contract of the audience storage ports (`AudienceStore`, `MembershipStore`) and of the reads audiences added to
 * older ports (`EventStore.tracks`, `IdentityStore.families`, `AccountStore.links`): one suite, every adapter of
 * `testDatabases()` (SQLite always, PostgreSQL when `TESSERA_TEST_DATABASE_URL` is set). Each test gets a fresh,
 * migrated, empty store.
 */

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;
const SOURCE = newUuid();

const GOLD: AudienceDefinition = { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } };

/** A definition touching most of the language, with values JSON must carry as they are. */
const RICH: AudienceDefinition = {
  type: 'and',
  conditions: [
    { type: 'trait', key: 'address.city', compare: { op: 'in', values: ['Zoë ✓', 'Paris', 3.5, true] } },
    {
      type: 'event',
      name: 'Order Completed',
      where: [{ property: 'total', compare: { op: 'gt', value: 50 } }],
      aggregate: { fn: 'count', compare: { op: 'gte', value: 2 } },
      window: { last: 30, unit: 'days' },
    },
    { type: 'not', condition: { type: 'audience', key: 'other' } },
    { type: 'consent', purpose: 'marketing', state: 'granted' },
  ],
};

function audience(key: string, more: Partial<AudienceRow> = {}): AudienceRow {
  return {
    key,
    name: `Audience ${key}`,
    description: 'who we want',
    definition: GOLD,
    version: 1,
    createdAt: T0,
    createdBy: 'alice',
    updatedAt: T0,
    updatedBy: 'alice',
    deletedAt: null,
    recomputeRequestedAt: T0,
    computedAt: null,
    computedVersion: null,
    ...more,
  };
}

/** The next version of `a`: what the audience service saves on an update (or, with `deletedAt`, a deletion). */
function nextVersion(a: AudienceRow, at: number, more: Partial<AudienceRow> = {}): AudienceRow {
  return { ...a, version: a.version + 1, updatedAt: at, updatedBy: 'bob', recomputeRequestedAt: at, ...more };
}

function stay(audienceKey: string, profileId: string, enteredAt: number, more: Partial<MembershipRow> = {}) {
  return {
    id: newUuid(),
    audienceKey,
    profileId,
    enteredAt,
    exitedAt: null,
    enteredVersion: 1,
    exitedVersion: null,
    exitReason: null,
    ...more,
  } satisfies MembershipRow;
}

function profile(id: string, traits: Record<string, unknown> = {}, createdAt = T0): ProfileRow {
  return {
    id,
    createdAt,
    updatedAt: createdAt,
    traits,
    traitTimes: Object.fromEntries(Object.keys(traits).map((k) => [k, createdAt])),
  };
}

let position = 0;
function event(profileId: string, timestamp: number, more: Partial<EventRow> = {}): EventRow {
  return {
    id: newUuid(),
    logPosition: ++position,
    sourceId: SOURCE,
    type: 'track',
    name: 'Viewed',
    messageId: `m-${position}`,
    profileId,
    userId: null,
    anonymousId: 'a1',
    timestamp,
    receivedAt: timestamp + 5,
    properties: null,
    traits: null,
    context: null,
    ...more,
  };
}

/** `n` new ids in ascending order. */
function ids(n: number): string[] {
  return Array.from({ length: n }, () => newUuid()).sort();
}

for (const db of testDatabases()) {
  if (db.skip) console.log(`audience stores contract on ${db.name} skipped: ${db.skip}`);
  const suite = db.skip ? describe.skip : describe;

  suite(`audience stores contract: ${db.name}${db.skip ? ` (skipped: ${db.skip})` : ''}`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await db.create();
    });
    afterEach(async () => {
      await s.close();
    });

    /** Every re-check stored, earliest first (taking them all). */
    const allRechecks = () => s.memberships.takeDue(Number.MAX_SAFE_INTEGER, 1000);

    describe('audiences', () => {
      it('saves a new audience, then each later save as the next version; get reads the current state', async () => {
        expect(await s.audiences.get('vip')).toBeUndefined();
        expect(await s.audiences.versions('vip')).toEqual([]);
        const v1 = audience('vip', { definition: RICH });
        await s.audiences.save(v1);
        expect(await s.audiences.get('vip')).toEqual(v1);
        const v2 = nextVersion(v1, T0 + 10, { name: 'VIP ✓', description: null, definition: GOLD });
        await s.audiences.save(v2);
        expect(await s.audiences.get('vip')).toEqual(v2);
        expect(await s.audiences.versions('vip')).toEqual([
          {
            key: 'vip',
            version: 2,
            name: 'VIP ✓',
            description: null,
            definition: GOLD,
            deleted: false,
            createdAt: T0 + 10,
            createdBy: 'bob',
          },
          {
            key: 'vip',
            version: 1,
            name: 'Audience vip',
            description: 'who we want',
            definition: RICH,
            deleted: false,
            createdAt: T0,
            createdBy: 'alice',
          },
        ]);
        expect(await s.audiences.versions('other')).toEqual([]);
      });

      it('round-trips definitions as JSON objects', async () => {
        const definition = {
          type: 'or',
          conditions: [
            RICH,
            {
              type: 'event',
              name: 'Viewed "page" \\ ✓',
              where: [{ property: 'a.b', compare: { op: 'between', values: [-1.25, 1e21] } }],
              window: { from: '2026-01-01', to: '2026-02-01T10:00:00+02:00' },
            },
            { type: 'entity', where: [{ key: 'plan', compare: { op: 'contains', value: 'ent' } }] },
          ],
        } as AudienceDefinition;
        await s.audiences.save(audience('json', { definition }));
        const got = await s.audiences.get('json');
        expect(got?.definition).toEqual(definition);
        expect(typeof got?.definition).toBe('object');
        const [version] = await s.audiences.versions('json');
        expect(version.definition).toEqual(definition);
        expect((await s.audiences.list())[0].definition).toEqual(definition);
      });

      it('refuses to save a version already saved', async () => {
        const v1 = audience('vip');
        await s.audiences.save(v1);
        await expect(s.audiences.save({ ...v1, name: 'again' })).rejects.toThrow();
        expect((await s.audiences.versions('vip')).map((v) => [v.version, v.name])).toEqual([[1, 'Audience vip']]);
      });

      it('lists audiences by key, deleted ones only when asked', async () => {
        const b = audience('b');
        const a = audience('a');
        const c = audience('c');
        const ab = audience('a_b');
        for (const row of [b, a, c, ab]) await s.audiences.save(row);
        const cDeleted = nextVersion(c, T0 + 5, { deletedAt: T0 + 5 });
        await s.audiences.save(cDeleted);
        expect(await s.audiences.list()).toEqual([a, ab, b]);
        expect(await s.audiences.list({ includeDeleted: false })).toEqual([a, ab, b]);
        expect(await s.audiences.list({ includeDeleted: true })).toEqual([a, ab, b, cDeleted]);
        expect(await s.audiences.get('c')).toEqual(cDeleted);
        const versions = await s.audiences.versions('c');
        expect(versions.map((v) => [v.version, v.deleted, v.createdAt, v.createdBy])).toEqual([
          [2, true, T0 + 5, 'bob'],
          [1, false, T0, 'alice'],
        ]);
      });

      it('records recomputation requests, and finished recomputations clearing them, without a new version', async () => {
        const v1 = audience('vip', { recomputeRequestedAt: null });
        await s.audiences.save(v1);
        await s.audiences.requestRecompute('vip', T0 + 100);
        expect(await s.audiences.get('vip')).toEqual({ ...v1, recomputeRequestedAt: T0 + 100 });
        await s.audiences.markComputed('vip', 1, T0 + 200);
        const computed = { ...v1, recomputeRequestedAt: null, computedAt: T0 + 200, computedVersion: 1 };
        expect(await s.audiences.get('vip')).toEqual(computed);
        await s.audiences.requestRecompute('vip', T0 + 250);
        expect(await s.audiences.get('vip')).toEqual({ ...computed, recomputeRequestedAt: T0 + 250 });
        const v2 = nextVersion({ ...computed, recomputeRequestedAt: T0 + 250 }, T0 + 300);
        await s.audiences.save(v2);
        expect(await s.audiences.get('vip')).toEqual(v2);
        expect(v2.recomputeRequestedAt).toBe(T0 + 300);
        await s.audiences.markComputed('vip', 2, T0 + 400);
        expect(await s.audiences.get('vip')).toEqual({
          ...v2,
          recomputeRequestedAt: null,
          computedAt: T0 + 400,
          computedVersion: 2,
        });
        expect((await s.audiences.versions('vip')).map((v) => v.version)).toEqual([2, 1]);
        // Missing audiences are not created.
        await s.audiences.requestRecompute('missing', T0);
        await s.audiences.markComputed('missing', 1, T0);
        expect(await s.audiences.get('missing')).toBeUndefined();
        expect((await s.audiences.list({ includeDeleted: true })).map((a) => a.key)).toEqual(['vip']);
      });

      it("removes only a deleted audience's row; its versions and membership history stay", async () => {
        const live = audience('live');
        const gone = audience('gone');
        await s.audiences.save(live);
        await s.audiences.save(gone);
        const goneDeleted = nextVersion(gone, T0 + 5, { deletedAt: T0 + 5 });
        await s.audiences.save(goneDeleted);
        const p = newUuid();
        const closed = stay('gone', p, T0, { exitedAt: T0 + 6, exitedVersion: 2, exitReason: 'deleted' });
        await s.memberships.enter([closed]);

        await s.audiences.remove('live');
        expect(await s.audiences.get('live')).toEqual(live);
        await s.audiences.remove('gone');
        expect(await s.audiences.get('gone')).toBeUndefined();
        expect(await s.audiences.list({ includeDeleted: true })).toEqual([live]);
        expect((await s.audiences.versions('gone')).map((v) => [v.version, v.deleted])).toEqual([
          [2, true],
          [1, false],
        ]);
        expect(await s.memberships.history([p])).toEqual([closed]);
        await s.audiences.remove('missing');
      });

      it('locks definitions inside a transaction, shared or for update', async () => {
        await s.audiences.save(audience('a'));
        await s.audiences.save(audience('b'));
        const got = await s.transaction(async (tx) => {
          await tx.audiences.lock([], 'share');
          await tx.audiences.lock(['b', 'a', 'b', 'missing'], 'share');
          await tx.audiences.lock(['a'], 'update');
          return tx.audiences.get('a');
        });
        expect(got?.key).toBe('a');
        await s.transaction(async (tx) => {
          await tx.audiences.lock(['b'], 'update');
          await tx.audiences.requestRecompute('b', T0 + 1);
        });
        expect((await s.audiences.get('b'))?.recomputeRequestedAt).toBe(T0 + 1);
      });

      it('an update lock holds off a shared lock of the same audience until the transaction ends', async () => {
        await s.audiences.save(audience('a'));
        const order: string[] = [];
        let second: Promise<void> | undefined;
        await s.transaction(async (tx) => {
          await tx.audiences.lock(['a'], 'update');
          second = s.transaction(async (tx2) => {
            await tx2.audiences.lock(['a'], 'share');
            order.push('second');
          });
          await new Promise((r) => setTimeout(r, 100));
          order.push('first');
        });
        await second;
        expect(order).toEqual(['first', 'second']);
      });
    });

    describe('memberships', () => {
      it('enters stays; current lists the open ones and history every one, by entry time', async () => {
        const [p, q, r] = ids(3);
        const a1 = stay('a', p, T0 + 20);
        const b1 = stay('b', p, T0 + 10, { enteredVersion: 3 });
        const c1 = stay('c', p, T0 + 5, { exitedAt: T0 + 8, exitedVersion: 4, exitReason: 'condition' });
        const a2 = stay('a', q, T0 + 15);
        await s.memberships.enter([a1, b1, c1, a2]);
        await s.memberships.enter([]);
        expect(await s.memberships.current([p])).toEqual([b1, a1]);
        expect(await s.memberships.history([p])).toEqual([c1, b1, a1]);
        expect(await s.memberships.current([p, q])).toEqual([b1, a2, a1]);
        expect(await s.memberships.history([q, p])).toEqual([c1, b1, a2, a1]);
        expect(await s.memberships.current([r])).toEqual([]);
        expect(await s.memberships.current([])).toEqual([]);
        expect(await s.memberships.history([])).toEqual([]);
      });

      it('refuses a second open stay of a profile in an audience', async () => {
        const [p, q] = ids(2);
        const first = stay('a', p, T0);
        await s.memberships.enter([first]);
        await expect(s.memberships.enter([stay('a', p, T0 + 1)])).rejects.toThrow();
        await expect(s.memberships.enter([stay('a', q, T0), stay('a', q, T0 + 1)])).rejects.toThrow();
        expect(await s.memberships.history([p])).toEqual([first]);
        // Another audience for the same profile, the same audience for another profile and closed stays are fine.
        const other = stay('b', p, T0 + 2);
        const closed = stay('a', p, T0 - 10, { exitedAt: T0 - 5, exitedVersion: 1, exitReason: 'condition' });
        const second = stay('a', q, T0 + 3);
        await s.memberships.enter([other, closed, second]);
        expect(await s.memberships.current([p, q])).toEqual([first, other, second]);
      });

      it('refuses the second open stay inside a transaction, which goes on after a savepoint', async () => {
        const p = newUuid();
        const first = stay('a', p, T0);
        await s.transaction(async (tx) => {
          await tx.memberships.enter([first]);
          await expect(tx.savepoint(() => tx.memberships.enter([stay('a', p, T0 + 1)]))).rejects.toThrow();
          await tx.memberships.enter([stay('b', p, T0 + 2)]);
        });
        expect((await s.memberships.current([p])).map((m) => m.audienceKey)).toEqual(['a', 'b']);
      });

      it('exits close only open stays; a profile may enter again after exiting', async () => {
        const [p, q] = ids(2);
        const a = stay('a', p, T0);
        const b = stay('b', p, T0 + 1);
        const c = stay('a', q, T0 + 2);
        await s.memberships.enter([a, b, c]);
        await s.memberships.exit([{ id: a.id, profileId: p }], T0 + 10, 2, 'condition');
        const aClosed = { ...a, exitedAt: T0 + 10, exitedVersion: 2, exitReason: 'condition' as const };
        expect(await s.memberships.history([p])).toEqual([aClosed, b]);
        expect(await s.memberships.current([p])).toEqual([b]);
        // A closed stay stays as it was closed.
        await s.memberships.exit([{ id: a.id, profileId: p }], T0 + 20, 3, 'deleted');
        expect(await s.memberships.history([p])).toEqual([aClosed, b]);
        // Several at once, of several profiles; others untouched.
        await s.memberships.exit(
          [
            { id: b.id, profileId: p },
            { id: c.id, profileId: q },
          ],
          T0 + 30,
          5,
          'merged',
        );
        expect(await s.memberships.current([p, q])).toEqual([]);
        expect(await s.memberships.history([p, q])).toEqual([
          aClosed,
          { ...b, exitedAt: T0 + 30, exitedVersion: 5, exitReason: 'merged' },
          { ...c, exitedAt: T0 + 30, exitedVersion: 5, exitReason: 'merged' },
        ]);
        await s.memberships.exit([], T0 + 40, 6, 'condition');
        // Re-entry.
        const again = stay('a', p, T0 + 50, { enteredVersion: 2 });
        await s.memberships.enter([again]);
        expect(await s.memberships.current([p])).toEqual([again]);
        expect((await s.memberships.history([p])).map((m) => m.id)).toEqual([a.id, b.id, again.id]);
      });

      it('lists the open stays of an audience by profile id, a page at a time', async () => {
        const profiles = ids(6);
        const [p1, p2, p3, p4, p5, p6] = profiles;
        // Entered in an order unrelated to the ids.
        const rows = [p4, p1, p5, p3, p2].map((p, i) => stay('a', p, T0 + i));
        const left = stay('a', p6, T0, { exitedAt: T0 + 1, exitedVersion: 1, exitReason: 'condition' });
        const elsewhere = stay('b', p6, T0);
        await s.memberships.enter([...rows, left, elsewhere]);
        const open = [p1, p2, p3, p4, p5].map((p) => rows.find((r) => r.profileId === p));
        expect(await s.memberships.members('a', { limit: 10 })).toEqual(open);
        expect(await s.memberships.members('a', { limit: 2 })).toEqual(open.slice(0, 2));
        expect(await s.memberships.members('a', { limit: 2, after: p2 })).toEqual(open.slice(2, 4));
        expect(await s.memberships.members('a', { limit: 2, after: p4 })).toEqual(open.slice(4));
        expect(await s.memberships.members('a', { limit: 2, after: p5 })).toEqual([]);
        expect(await s.memberships.members('a', { limit: 10, after: p6 })).toEqual([]);
        expect(await s.memberships.members('b', { limit: 10 })).toEqual([elsewhere]);
        expect(await s.memberships.members('none', { limit: 10 })).toEqual([]);
        await s.memberships.exit([{ id: open[0]?.id as string, profileId: p1 }], T0 + 9, 1, 'condition');
        expect((await s.memberships.members('a', { limit: 10 })).map((m) => m.profileId)).toEqual([p2, p3, p4, p5]);
      });

      it('counts the open stays of each audience that has any', async () => {
        expect(await s.memberships.counts()).toEqual(new Map());
        const [p, q, r] = ids(3);
        const closed = { exitedAt: T0 + 1, exitedVersion: 1, exitReason: 'condition' as const };
        await s.memberships.enter([
          stay('a', p, T0),
          stay('a', q, T0),
          stay('a', r, T0, closed),
          stay('b', p, T0),
          stay('c', p, T0, closed),
        ]);
        expect(await s.memberships.counts()).toEqual(
          new Map([
            ['a', 2],
            ['b', 1],
          ]),
        );
      });

      describe('compiled queries', () => {
        /** gold: plan gold; silver: an Order Completed through a merged id; bronze: nothing; merged: redirected. */
        async function fixture() {
          const [gold, silver, bronze, merged] = ids(4);
          await s.profiles.createMany([
            profile(gold, { plan: 'gold' }),
            profile(silver, { plan: 'silver' }),
            profile(bronze, {}),
            profile(merged, { plan: 'gold' }),
          ]);
          await s.identities.redirect([merged], silver, T0, T0);
          await s.events.insert([
            event(merged, T0 - HOUR, { name: 'Order Completed', properties: { total: 80 } }),
            event(bronze, T0 - HOUR, { name: 'Order Completed', properties: { total: 20 } }),
            event(gold, T0 - 2 * HOUR, { name: 'Viewed' }),
          ]);
          return { gold, silver, bronze, merged };
        }
        const BUYER: AudienceDefinition = {
          type: 'event',
          name: 'Order Completed',
          where: [{ property: 'total', compare: { op: 'gt', value: 50 } }],
        };
        const EITHER: AudienceDefinition = { type: 'or', conditions: [GOLD, BUYER] };

        it('select runs a compiled audience: the survivors it selects, by id', async () => {
          const { gold, silver, bronze } = await fixture();
          const d = s.dialect;
          expect(await s.memberships.select(compileAudience(GOLD, d, T0))).toEqual([gold]);
          expect(await s.memberships.select(compileAudience(BUYER, d, T0))).toEqual([silver]);
          expect(await s.memberships.select(compileAudience(EITHER, d, T0))).toEqual([gold, silver]);
          expect(await s.memberships.select(compileAudience(null, d, T0))).toEqual([gold, silver, bronze]);
          expect(await s.memberships.select(compileAudience({ type: 'not', condition: EITHER }, d, T0))).toEqual([
            bronze,
          ]);
          // Inside a transaction too (where PostgreSQL's setting for large queries holds).
          expect(await s.transaction((tx) => tx.memberships.select(compileAudience(EITHER, d, T0)))).toEqual([
            gold,
            silver,
          ]);
          // A hand-written statement selecting `id`.
          expect(await s.memberships.select({ text: 'select id from profiles order by id', params: [] })).toHaveLength(
            4,
          );
        });

        it('select reads open stays of other audiences', async () => {
          const { gold, silver } = await fixture();
          await s.memberships.enter([
            stay('vip', silver, T0),
            stay('vip', gold, T0 - 10, { exitedAt: T0 - 5, exitedVersion: 1, exitReason: 'condition' }),
          ]);
          const inVip: AudienceDefinition = { type: 'audience', key: 'vip' };
          expect(await s.memberships.select(compileAudience(inVip, s.dialect, T0))).toEqual([silver]);
        });

        it('count runs a compiled count', async () => {
          await fixture();
          const d = s.dialect;
          expect(await s.memberships.count(compileAudience(EITHER, d, T0, { count: true }))).toBe(2);
          expect(await s.memberships.count(compileAudience(null, d, T0, { count: true }))).toBe(3);
          // A relative window of an hour: the buyer's order, placed at T0 - 1 h, leaves it at T0.
          const recent: AudienceDefinition = { ...BUYER, window: { last: 1, unit: 'hours' } };
          expect(await s.memberships.count(compileAudience(recent, d, T0 - 1, { count: true }))).toBe(1);
          expect(await s.memberships.count(compileAudience(recent, d, T0, { count: true }))).toBe(0);
          expect(await s.memberships.count({ text: 'select count(*) as n from profiles', params: [] })).toBe(4);
          expect(await s.transaction((tx) => tx.memberships.count(compileAudience(GOLD, d, T0, { count: true })))).toBe(
            1,
          );
        });

        it('tally runs a compiled tally: every profile considered and whether it is in', async () => {
          const { gold, silver, bronze } = await fixture();
          expect(await s.memberships.tally(compileAudience(EITHER, s.dialect, T0, { tally: true }))).toEqual([
            { id: gold, member: true },
            { id: silver, member: true },
            { id: bronze, member: false },
          ]);
          expect(await s.memberships.tally(compileAudience(GOLD, s.dialect, T0, { tally: true }))).toEqual([
            { id: gold, member: true },
            { id: silver, member: false },
            { id: bronze, member: false },
          ]);
          expect(
            await s.memberships.tally({
              text: 'select id, case when id = ? then 1 else 0 end as m from profiles where id in (?, ?) order by id',
              params: [bronze, gold, bronze],
            }),
          ).toEqual([
            { id: gold, member: false },
            { id: bronze, member: true },
          ]);
        });
      });

      describe('re-checks', () => {
        it('setRechecks sets the next re-check of each profile, replacing any; null removes it', async () => {
          const [p, q, r] = ids(3);
          await s.memberships.setRechecks([
            { profileId: p, dueAt: T0 + 30 },
            { profileId: q, dueAt: T0 + 10 },
            { profileId: r, dueAt: null },
          ]);
          await s.memberships.setRechecks([]);
          expect(await allRechecks()).toEqual([
            { profileId: q, dueAt: T0 + 10 },
            { profileId: p, dueAt: T0 + 30 },
          ]);
          await s.memberships.setRechecks([
            { profileId: p, dueAt: T0 + 30 },
            { profileId: q, dueAt: T0 + 10 },
          ]);
          // Later or earlier: replaced either way.
          await s.memberships.setRechecks([
            { profileId: p, dueAt: T0 + 50 },
            { profileId: q, dueAt: null },
            { profileId: r, dueAt: T0 + 5 },
          ]);
          expect(await allRechecks()).toEqual([
            { profileId: r, dueAt: T0 + 5 },
            { profileId: p, dueAt: T0 + 50 },
          ]);
          await s.memberships.setRechecks([{ profileId: p, dueAt: T0 + 50 }]);
          await s.memberships.setRechecks([{ profileId: p, dueAt: T0 + 1 }]);
          expect(await allRechecks()).toEqual([{ profileId: p, dueAt: T0 + 1 }]);
        });

        it('recheckBy brings re-checks forward, keeping the earlier instant', async () => {
          const [p, q, r] = ids(3);
          await s.memberships.setRechecks([
            { profileId: p, dueAt: T0 + 100 },
            { profileId: q, dueAt: T0 + 100 },
          ]);
          await s.memberships.recheckBy([
            { profileId: p, dueAt: T0 + 200 },
            { profileId: q, dueAt: T0 + 50 },
            { profileId: r, dueAt: T0 + 300 },
          ]);
          await s.memberships.recheckBy([]);
          expect(await allRechecks()).toEqual([
            { profileId: q, dueAt: T0 + 50 },
            { profileId: p, dueAt: T0 + 100 },
            { profileId: r, dueAt: T0 + 300 },
          ]);
        });

        it('recheckBy keeps the earliest instant of a profile named twice in one call', async () => {
          const [p, q] = ids(2);
          await s.memberships.setRechecks([{ profileId: q, dueAt: T0 + 100 }]);
          await s.memberships.recheckBy([
            { profileId: p, dueAt: T0 + 20 },
            { profileId: q, dueAt: T0 + 50 },
            { profileId: p, dueAt: T0 + 10 },
            { profileId: q, dueAt: T0 + 70 },
          ]);
          expect(await allRechecks()).toEqual([
            { profileId: p, dueAt: T0 + 10 },
            { profileId: q, dueAt: T0 + 50 },
          ]);
        });

        it('takeDue removes and returns the due re-checks, earliest first, at most `limit`', async () => {
          const [p, q, r, t] = ids(4);
          expect(await s.memberships.takeDue(T0, 10)).toEqual([]);
          expect(await s.memberships.nextDue()).toBeUndefined();
          await s.memberships.setRechecks([
            { profileId: r, dueAt: T0 + 3 },
            { profileId: t, dueAt: T0 + 10 },
            { profileId: p, dueAt: T0 + 2 },
            { profileId: q, dueAt: T0 + 1 },
          ]);
          expect(await s.memberships.takeDue(T0, 10)).toEqual([]);
          expect(await s.memberships.nextDue()).toBe(T0 + 1);
          expect(await s.memberships.takeDue(T0 + 3, 2)).toEqual([
            { profileId: q, dueAt: T0 + 1 },
            { profileId: p, dueAt: T0 + 2 },
          ]);
          expect(await s.transaction((tx) => tx.memberships.takeDue(T0 + 3, 10))).toEqual([
            { profileId: r, dueAt: T0 + 3 },
          ]);
          expect(await s.memberships.takeDue(T0 + 3, 10)).toEqual([]);
          expect(await s.memberships.takeDue(T0 + 10, 10)).toEqual([{ profileId: t, dueAt: T0 + 10 }]);
          expect(await allRechecks()).toEqual([]);
        });
      });
    });

    describe('reads for audiences', () => {
      it('tracks: the track events of these profiles with these names, after `since`', async () => {
        const [p, q, r] = ids(3);
        const e1 = event(p, T0, { name: 'Order Completed', properties: { total: 42, items: [{ sku: 'a' }] } });
        const e2 = event(p, T0 + 10, { name: 'Viewed' });
        const e3 = event(q, T0 + 20, { name: 'Order Completed', properties: { total: 7 } });
        const e4 = event(p, T0 + 30, { name: 'Other' });
        const e5 = event(p, T0 + 40, { type: 'identify', name: 'Viewed', traits: { plan: 'gold' } });
        const e6 = event(r, T0 + 50, { name: 'Viewed' });
        await s.events.insert([e1, e2, e3, e4, e5, e6]);
        const track = (e: EventRow) => ({
          id: e.id,
          profileId: e.profileId,
          name: e.name,
          timestamp: e.timestamp,
          properties: e.properties,
        });
        const sorted = <T extends { timestamp: number }>(rows: T[]) =>
          [...rows].sort((a, b) => a.timestamp - b.timestamp);
        expect(sorted(await s.events.tracks([p, q], ['Order Completed', 'Viewed']))).toEqual([e1, e2, e3].map(track));
        expect(await s.events.tracks([p], ['Order Completed'])).toEqual([track(e1)]);
        // Strictly after `since`.
        expect(sorted(await s.events.tracks([p, q], ['Order Completed', 'Viewed'], T0))).toEqual([e2, e3].map(track));
        expect(await s.events.tracks([p, q], ['Order Completed', 'Viewed'], T0 + 20)).toEqual([]);
        expect(await s.events.tracks([p, q], [])).toEqual([]);
        expect(await s.events.tracks([], ['Viewed'])).toEqual([]);
        expect(await s.events.tracks([p], ['Missing'])).toEqual([]);
      });

      it('families: each survivor with itself and every id redirected to it', async () => {
        const [a, b, c, d, e, lone] = ids(6);
        await s.identities.redirect([c], b, T0, T0);
        await s.identities.redirect([b, d], a, T0 + 1, T0 + 1);
        await s.identities.redirect([e], a, T0 + 2, T0 + 2);
        const families = await s.identities.families([a, lone]);
        expect([...families.keys()].sort()).toEqual([a, lone].sort());
        const family = families.get(a) as string[];
        expect(family[0]).toBe(a);
        expect([...family].sort()).toEqual([a, b, c, d, e].sort());
        expect(families.get(lone)).toEqual([lone]);
        expect(await s.identities.families([])).toEqual(new Map());
        // Agrees with `family`.
        expect([...family].sort()).toEqual([...(await s.identities.family(a))].sort());
      });

      it("links: one row per profile and account, with the account's traits", async () => {
        const [p1, p2, p3] = ids(3);
        const acme = await s.accounts.upsert('acme', { name: 'Acme', plan: 'free' }, T0, newUuid());
        await s.accounts.upsert('acme', { plan: 'enterprise', seats: 50 }, T0 + 10, newUuid());
        const globex = await s.accounts.upsert('globex', {}, T0 + 1, newUuid());
        await s.accounts.link(p1, acme, SOURCE, T0 + 1);
        await s.accounts.link(p1, acme, SOURCE, T0 + 5);
        await s.accounts.link(p1, globex, SOURCE, T0 + 2);
        await s.accounts.link(p2, acme, SOURCE, T0 + 3);
        const key = (r: { profileId: string; accountId: string }) => `${r.profileId}/${r.accountId}`;
        const links = (await s.accounts.links([p1, p2, p3])).sort((x, y) => (key(x) < key(y) ? -1 : 1));
        const acmeTraits = { name: 'Acme', plan: 'enterprise', seats: 50 };
        expect(links).toEqual(
          [
            { profileId: p1, accountId: acme, traits: acmeTraits },
            { profileId: p1, accountId: globex, traits: {} },
            { profileId: p2, accountId: acme, traits: acmeTraits },
          ].sort((x, y) => (key(x) < key(y) ? -1 : 1)),
        );
        expect(await s.accounts.links([p3])).toEqual([]);
        expect(await s.accounts.links([])).toEqual([]);
      });

      describe('more profile ids than one statement can bind (a batch of large families)', () => {
        /** Beyond both dialects' bound-parameter limits (SQLite 32,766, PostgreSQL 65,535). */
        const MANY = 70_000;
        const many = () => [...ids(MANY - 2), ...ids(2)];

        it('tracks reads them all', async () => {
          const all = many();
          const [first, last] = [all[0], all[MANY - 1]];
          await s.events.insert([event(first, T0), event(last, T0 + 1)]);
          const rows = await s.events.tracks(all, ['Viewed']);
          expect(rows.map((r) => r.profileId).sort()).toEqual([first, last].sort());
        });

        it('families reads them all', async () => {
          const all = many();
          const [merged, last] = [all[0], all[MANY - 1]];
          await s.identities.redirect([merged], last, T0, T0);
          const families = await s.identities.families(all.slice(1));
          expect(families.size).toBe(MANY - 1);
          expect(families.get(last)).toEqual([last, merged]);
        });

        it('links reads them all', async () => {
          const all = many();
          const [first, last] = [all[0], all[MANY - 1]];
          const acme = await s.accounts.upsert('acme', { plan: 'enterprise' }, T0, newUuid());
          await s.accounts.link(first, acme, SOURCE, T0);
          await s.accounts.link(last, acme, SOURCE, T0);
          const links = await s.accounts.links(all);
          expect(links.map((l) => l.profileId).sort()).toEqual([first, last].sort());
          expect(links.map((l) => l.traits)).toEqual([{ plan: 'enterprise' }, { plan: 'enterprise' }]);
        });
      });
    });
  });
}

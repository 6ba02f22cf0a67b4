import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAudienceJob } from '../audiences/recompute.js';
import type { Role } from '../auth/principal.js';
import { bare, call, idOf, merge, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * The audiences API (DESIGN §6, `docs/audiences.md`) in-process: definitions and their versions, validation, the
 * pipeline moving profiles in and out at the end of each batch, the scheduler's job (`runAudienceJob`, called by
 * hand: the test app runs no scheduler) recomputing in full and re-checking expiring windows, members, preview,
 * roles and the change bus.
 */

let t: TestApp;
/**
 * A fresh app for each test, or one `shared` by the tests of a describe (each using keys of its own): every app
 * compiles its routes' serialisers on first use, which costs about a second.
 */
function useApp(scope: 'each' | 'shared' = 'each') {
  const [before, after] = scope === 'each' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.app.close();
  });
}

const DAY = 86_400_000;
/** ISO time `min` minutes before now: the pipeline evaluates relative windows at processing time. */
const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();

const GOLD = { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } };
const FREE = { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'free' } };
const TWO_ORDERS = {
  type: 'event',
  name: 'Order Completed',
  where: [{ property: 'total', compare: { op: 'gt', value: 50 } }],
  aggregate: { fn: 'count', compare: { op: 'gte', value: 2 } },
  window: { last: 30, unit: 'days' },
};
/** The issue's example: plan is gold and at least 2 "Order Completed" with total > 50 in the last 30 days. */
const GOLD_BUYER = { type: 'and', conditions: [GOLD, TWO_ORDERS] };
const inAudience = (key: string) => ({ type: 'audience', key });
const LTV = { type: 'computed_trait', key: 'ltv', compare: { op: 'gt', value: 1 } };

/** Creates an audience with the admin token; 201 expected. */
async function create(key: string, definition: unknown = GOLD, name = `Audience ${key}`) {
  const r = await call(t, 'POST', '/v1/audiences', { key, name, definition });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

let seq = 0;
const identify = (userId: string, traits: Record<string, unknown>, minAgo = 0) => ({
  type: 'identify',
  userId,
  messageId: `m${++seq}`,
  timestamp: ago(minAgo),
  traits,
});
const order = (userId: string, total: number, minAgo: number) => ({
  type: 'track',
  userId,
  messageId: `m${++seq}`,
  timestamp: ago(minAgo),
  event: 'Order Completed',
  properties: { total },
});

/** The stays of a profile, as `GET /v1/profiles/:id/audiences` answers them. */
async function stays(id: string, history = false) {
  const r = await t.get(`/v1/profiles/${id}/audiences${history ? '?history=true' : ''}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.items;
}
/** The keys of the audiences a profile is in now. */
async function keysOf(id: string): Promise<string[]> {
  return (await stays(id)).map((s: { audienceKey: string }) => s.audienceKey).sort();
}
/** Member counts by key, as the list answers them. */
async function memberCounts(): Promise<Record<string, number>> {
  const r = await t.get('/v1/audiences');
  return Object.fromEntries(r.body.items.map((a: { key: string; members: number }) => [a.key, a.members]));
}

/** Every audience change on the bus (a consumer that never commits). */
async function audienceChanges() {
  const changes = await t.app.storage.changes.read('test', 1000);
  return changes.filter((c) => c.kind.startsWith('audience.'));
}

describe('definitions: create, read, recompute in full', () => {
  useApp();

  it('creates version 1 (computing), lists it, and the full recomputation counts the profiles stored before', async () => {
    await step(t, [
      identify('u1', { plan: 'gold' }),
      identify('u2', { plan: 'gold' }),
      identify('u3', { plan: 'free' }),
    ]);

    const created = await create('gold', GOLD, 'Gold customers');
    expect(created).toMatchObject({
      key: 'gold',
      name: 'Gold customers',
      description: null,
      definition: GOLD,
      summary: { en: 'plan is gold', fr: 'plan est gold' },
      version: 1,
      members: 0,
      status: 'computing',
      computedAt: null,
      createdBy: expect.stringMatching(/^tok_/),
    });

    const list = await t.get('/v1/audiences');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [created], nextCursor: null });
    expect(await t.get('/v1/audiences/gold')).toEqual({ status: 200, body: created });

    const job = await runAudienceJob(t.app.storage);
    expect(job.recomputed).toMatchObject([{ key: 'gold', version: 1, members: 2, entered: 2, exited: 0 }]);

    const ready = (await t.get('/v1/audiences/gold')).body;
    expect(ready).toMatchObject({ version: 1, members: 2, status: 'ready', computedAt: expect.any(String) });
    expect(await keysOf(await idOf(t, 'user_id', 'u1'))).toEqual(['gold']);
    expect(await keysOf(await idOf(t, 'user_id', 'u3'))).toEqual([]);
    // Nothing left to do: the next run recomputes nothing.
    expect((await runAudienceJob(t.app.storage)).recomputed).toEqual([]);
  });

  it('recomputes an audience naming another after the one it names, in full and from events', async () => {
    await step(t, [identify('u0', { plan: 'gold' }, 60), order('u0', 60, 50), order('u0', 70, 40)]);
    await create('gold');
    await create('gold-buyers', { type: 'and', conditions: [inAudience('gold'), TWO_ORDERS] });
    const job = await runAudienceJob(t.app.storage);
    expect(job.recomputed.map((r) => [r.key, r.members])).toEqual([
      ['gold', 1],
      ['gold-buyers', 1],
    ]);

    // One batch: the profile enters `gold`, and `gold-buyers` reads that membership.
    await step(t, [identify('u1', { plan: 'gold' }, 60), order('u1', 60, 50), order('u1', 70, 40)]);
    const id = await idOf(t, 'user_id', 'u1');
    expect(await keysOf(id)).toEqual(['gold', 'gold-buyers']);
    await step(t, [identify('u1', { plan: 'silver' }, 1)]);
    expect(await keysOf(id)).toEqual([]);
    expect(await memberCounts()).toEqual({ gold: 1, 'gold-buyers': 1 });
  });
});

describe('events move profiles in and out', () => {
  useApp();

  it('enters when the definition starts holding and exits (condition) when a later event breaks it; both on the bus', async () => {
    await create('gold-buyers', GOLD_BUYER);
    await runAudienceJob(t.app.storage);

    await step(t, [identify('u1', { plan: 'gold' }, 60), order('u1', 60, 50)]);
    const id = await idOf(t, 'user_id', 'u1');
    expect(await stays(id), 'one order is not enough').toEqual([]);
    await step(t, [order('u1', 50, 40)]);
    expect(await stays(id), 'an order of 50 is not > 50').toEqual([]);

    await step(t, [order('u1', 75, 30)]);
    const [stay] = await stays(id);
    expect(stay).toMatchObject({
      audienceKey: 'gold-buyers',
      name: 'Audience gold-buyers',
      member: true,
      exitedAt: null,
      enteredVersion: 1,
      exitedVersion: null,
      exitReason: null,
    });
    expect(Date.parse(stay.enteredAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await memberCounts()).toEqual({ 'gold-buyers': 1 });
    const entered = { audienceKey: 'gold-buyers', profileId: bare(id), version: 1 };
    expect(await audienceChanges()).toMatchObject([
      { kind: 'audience.entered', profileId: bare(id), payload: entered },
    ]);

    await step(t, [identify('u1', { plan: 'silver' }, 1)]);
    expect(await stays(id)).toEqual([]);
    expect(await stays(id, true)).toEqual([
      { ...stay, member: false, exitedAt: expect.any(String), exitedVersion: 1, exitReason: 'condition' },
    ]);
    expect(await memberCounts()).toEqual({ 'gold-buyers': 0 });
    expect(await audienceChanges()).toMatchObject([
      { kind: 'audience.entered', payload: entered },
      { kind: 'audience.exited', profileId: bare(id), payload: { ...entered, reason: 'condition' } },
    ]);
  });

  it('a merge closes the merged profile’s stays (merged) and evaluates the survivor', async () => {
    await create('gold');
    await create('free', FREE);
    await step(t, [
      { type: 'identify', anonymousId: 'a1', messageId: 'x1', timestamp: ago(10), traits: { plan: 'free' } },
    ]);
    await step(t, [identify('u1', { plan: 'gold' }, 9)]);
    const ids = [await idOf(t, 'anonymous_id', 'a1'), await idOf(t, 'user_id', 'u1')];
    expect(await memberCounts()).toEqual({ free: 1, gold: 1 });

    await step(t, [
      { type: 'identify', anonymousId: 'a1', userId: 'u1', messageId: 'x2', timestamp: ago(5), traits: {} },
    ]);
    const survivor = await idOf(t, 'user_id', 'u1');
    const merged = ids.find((id) => id !== survivor) as string;
    // The golden record takes the latest plan (gold): the family is in `gold` once, under the survivor.
    expect(await keysOf(survivor)).toEqual(['gold']);
    expect(await keysOf(merged), 'a merged id answers its survivor’s stays').toEqual(['gold']);
    expect(await memberCounts()).toEqual({ free: 0, gold: 1 });
    expect(await audienceChanges()).toContainEqual(
      expect.objectContaining({
        kind: 'audience.exited',
        payload: expect.objectContaining({ profileId: bare(merged), reason: 'merged' }),
      }),
    );
  });

  // Regression guard: a merge outside the pipeline (the dedupe job's auto-merge, an accepted review) must close the
  // merged profile's stays like a merge by an event does, not leave a redirected id among the members.
  it('a merge outside the pipeline (dedupe, review) closes the merged profile’s stays (merged)', async () => {
    await create('gold');
    await runAudienceJob(t.app.storage);
    await step(t, [identify('u1', { plan: 'gold' }, 10)]);
    await step(t, [
      { type: 'identify', anonymousId: 'a1', messageId: 'x1', timestamp: ago(9), traits: { plan: 'gold' } },
    ]);
    const ids = [await idOf(t, 'user_id', 'u1'), await idOf(t, 'anonymous_id', 'a1')];
    expect(await memberCounts()).toEqual({ gold: 2 });

    const result = await merge(t, ids);
    expect(result).toMatchObject({ ok: true });
    const survivor = await idOf(t, 'user_id', 'u1');
    const merged = ids.find((id) => id !== survivor) as string;
    // An event for the survivor and a run of the job: nothing else is left to bring the stays right.
    await step(t, [order('u1', 10, 1)]);
    await runAudienceJob(t.app.storage);

    const members = await t.get('/v1/audiences/gold/members');
    expect(members.body.items.map((m: { profileId: string }) => m.profileId)).toEqual([survivor]);
    expect(await memberCounts()).toEqual({ gold: 1 });
    expect(await audienceChanges()).toContainEqual(
      expect.objectContaining({
        kind: 'audience.exited',
        payload: expect.objectContaining({ profileId: bare(merged), reason: 'merged' }),
      }),
    );
  });

  // The 29-day-old order leaves the 30-day window a day from now: the job's re-check, run two days later, sees it go.
  it.each([
    ['events', 'before'],
    ['the full recomputation', 'after'],
  ])('a profile entered by %s leaves when its window expires (the job’s re-check)', async (_, audienceCreated) => {
    const events = [identify('u1', { plan: 'gold' }, 60), order('u1', 60, 29 * 24 * 60), order('u1', 70, 40)];
    if (audienceCreated === 'after') await step(t, events);
    await create('gold-buyers', GOLD_BUYER);
    await runAudienceJob(t.app.storage);
    if (audienceCreated === 'before') await step(t, events);
    const id = await idOf(t, 'user_id', 'u1');
    expect(await keysOf(id)).toEqual(['gold-buyers']);

    expect(await runAudienceJob(t.app.storage), 'nothing is due yet').toMatchObject({ rechecked: 0, exited: 0 });
    const later = await runAudienceJob(t.app.storage, { now: () => Date.now() + 2 * DAY });
    expect(later).toMatchObject({ recomputed: [], rechecked: 1, exited: 1 });
    expect(await stays(id, true)).toMatchObject([
      { audienceKey: 'gold-buyers', member: false, exitReason: 'condition' },
    ]);
  });
});

describe('validation, references, conflicts, unknown keys', () => {
  useApp('shared');
  const body = (over: Record<string, unknown>) => ({ key: 'a', name: 'A', definition: GOLD, ...over });

  it.each([
    [
      'definition.conditions.0.compare.op',
      body({
        definition: { type: 'and', conditions: [{ type: 'trait', key: 'plan', compare: { op: 'is', value: 1 } }] },
      }),
    ],
    [
      'definition.conditions.1.window.last',
      body({
        definition: { type: 'and', conditions: [GOLD, { ...TWO_ORDERS, window: { last: 4000, unit: 'days' } }] },
      }),
    ],
    ['definition.conditions.1.key', body({ definition: { type: 'and', conditions: [GOLD, inAudience('a')] } })],
    ['definition', body({ definition: LTV })],
    ['definition', body({ definition: { type: 'or', conditions: [LTV, GOLD] } })],
    ['definition', body({ definition: undefined })],
    ['key', body({ key: 'has space' })],
    ['key', body({ key: 'k'.repeat(65) })],
    ['key', body({ key: undefined })],
    ['name', body({ name: '  ' })],
    ['name', body({ name: undefined })],
    ['name', body({ name: 'n'.repeat(201) })],
    ['colour', body({ colour: 'red' })],
  ])('refuses a create with 400 naming %s', async (field, b) => {
    const r = await call(t, 'POST', '/v1/audiences', b);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect(r.body.error.message).toContain(`invalid audience: ${field}:`);
    expect((await t.get('/v1/audiences/a')).status, 'nothing saved').toBe(404);
  });

  it('refuses a cycle through two audiences: A names B, then B changed to name A', async () => {
    await create('cycle-b');
    await create('cycle-a', { type: 'and', conditions: [GOLD, inAudience('cycle-b')] });
    const cycle = await call(t, 'PATCH', '/v1/audiences/cycle-b', {
      definition: { type: 'not', condition: inAudience('cycle-a') },
    });
    expect(cycle.status, JSON.stringify(cycle.body)).toBe(400);
    expect(cycle.body.error).toMatchObject({ code: 'invalid_request', details: { field: 'definition' } });
    expect(cycle.body.error.message).toMatch(/cycle/);
    expect((await t.get('/v1/audiences/cycle-b')).body.version).toBe(1);
  });

  it('answers 409 for a taken key and for deleting an audience another one names', async () => {
    await create('named');
    const dup = await call(t, 'POST', '/v1/audiences', { key: 'named', name: 'Again', definition: GOLD });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');

    await create('user', inAudience('named'));
    const named = await call(t, 'DELETE', '/v1/audiences/named');
    expect(named.status).toBe(409);
    expect(named.body.error).toMatchObject({ code: 'conflict', details: { key: 'named', namedBy: ['user'] } });
    expect((await t.get('/v1/audiences/named')).body.version).toBe(1);

    // Once `user` no longer names it, `named` can go.
    expect((await call(t, 'PATCH', '/v1/audiences/user', { definition: GOLD })).status).toBe(200);
    expect((await call(t, 'DELETE', '/v1/audiences/named')).status).toBe(200);
  });

  it('answers 404 for an unknown audience or profile', async () => {
    for (const [method, url, b] of [
      ['GET', '/v1/audiences/zz', undefined],
      ['PATCH', '/v1/audiences/zz', { name: 'Z' }],
      ['DELETE', '/v1/audiences/zz', undefined],
      ['GET', '/v1/audiences/zz/versions', undefined],
      ['GET', '/v1/audiences/zz/members', undefined],
      ['POST', '/v1/audiences/zz/recompute', undefined],
      ['GET', '/v1/profiles/prof_00000000-0000-7000-8000-000000000000/audiences', undefined],
      ['GET', '/v1/profiles/nope/audiences', undefined],
    ] as const) {
      const r = await call(t, method, url, b);
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
  });

  it('refuses a reference to a missing audience', async () => {
    const r = await call(t, 'POST', '/v1/audiences', body({ definition: inAudience('nope') }));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field: 'definition', audience: 'nope' } });
    expect(r.body.error.message).toContain('"nope"');
    expect((await t.get('/v1/audiences/a')).status, 'nothing saved').toBe(404);
  });

  it.each([
    ['key', { key: 'b' }],
    ['name', { name: '' }],
    ['definition.compare.op', { definition: { type: 'trait', key: 'plan', compare: { op: 'is' } } }],
    ['definition.key', { definition: inAudience('base') }],
    ['definition', { definition: LTV }],
  ])('refuses a PATCH with 400 naming %s, saving no version', async (field, patch) => {
    if ((await t.get('/v1/audiences/base')).status === 404) await create('base');
    const r = await call(t, 'PATCH', '/v1/audiences/base', patch);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    expect((await t.get('/v1/audiences/base/versions')).body.items).toHaveLength(1);
  });
});

describe('versions and deletion', () => {
  useApp();

  it('each PATCH is a version; a new definition is recomputed in full under it', async () => {
    await step(t, [identify('u1', { plan: 'gold' }, 5), identify('u2', { plan: 'free' }, 5)]);
    const [u1, u2] = [await idOf(t, 'user_id', 'u1'), await idOf(t, 'user_id', 'u2')];
    await create('vip');
    await runAudienceJob(t.app.storage);

    const renamed = await call(t, 'PATCH', '/v1/audiences/vip', { name: 'VIPs', description: 'the best' });
    expect(renamed).toMatchObject({
      status: 200,
      body: { key: 'vip', name: 'VIPs', description: 'the best', definition: GOLD, version: 2, members: 1 },
    });
    const redefined = await call(t, 'PATCH', '/v1/audiences/vip', { definition: FREE, description: null });
    expect(redefined.body).toMatchObject({ description: null, version: 3, status: 'computing', members: 1 });
    expect((await t.get('/v1/audiences/vip/versions')).body).toMatchObject({
      items: [
        { version: 3, name: 'VIPs', description: null, definition: FREE, deleted: false },
        { version: 2, name: 'VIPs', description: 'the best', definition: GOLD, deleted: false },
        { version: 1, name: 'Audience vip', description: null, definition: GOLD, deleted: false },
      ],
      nextCursor: null,
    });

    await runAudienceJob(t.app.storage);
    expect((await t.get('/v1/audiences/vip')).body).toMatchObject({ version: 3, status: 'ready', members: 1 });
    expect(await stays(u1, true)).toMatchObject([{ enteredVersion: 1, exitedVersion: 3, exitReason: 'condition' }]);
    expect(await stays(u2)).toMatchObject([{ enteredVersion: 3, member: true }]);
  });

  it('a DELETE answers the view; the job closes the stays (deleted) and frees the key, whose versions go on', async () => {
    await step(t, [identify('u1', { plan: 'gold' }, 5)]);
    const id = await idOf(t, 'user_id', 'u1');
    await create('vip');
    await runAudienceJob(t.app.storage);
    expect((await call(t, 'PATCH', '/v1/audiences/vip', { name: 'VIPs' })).status).toBe(200);

    const deleted = await call(t, 'DELETE', '/v1/audiences/vip');
    expect(deleted).toMatchObject({ status: 200, body: { key: 'vip', name: 'VIPs', version: 3, definition: GOLD } });
    expect((await t.get('/v1/audiences/vip')).status).toBe(404);
    expect((await t.get('/v1/audiences')).body.items).toEqual([]);
    // While its members leave, the key is neither changed nor taken again.
    expect((await call(t, 'PATCH', '/v1/audiences/vip', { name: 'x' })).status).toBe(404);
    expect((await call(t, 'POST', '/v1/audiences', { key: 'vip', name: 'VIP', definition: GOLD })).status).toBe(409);

    await runAudienceJob(t.app.storage);
    expect(await stays(id)).toEqual([]);
    expect(await stays(id, true)).toMatchObject([
      { audienceKey: 'vip', name: null, member: false, enteredVersion: 1, exitedVersion: 3, exitReason: 'deleted' },
    ]);
    expect((await audienceChanges()).map((c) => [c.kind, (c.payload as { reason?: string }).reason])).toEqual([
      ['audience.entered', undefined],
      ['audience.exited', 'deleted'],
    ]);

    expect(await create('vip')).toMatchObject({ key: 'vip', version: 4, members: 0, status: 'computing' });
    const versions = (await t.get('/v1/audiences/vip/versions')).body.items;
    expect(versions.map((v: { version: number; deleted: boolean }) => [v.version, v.deleted])).toEqual([
      [4, false],
      [3, true],
      [2, false],
      [1, false],
    ]);
    await runAudienceJob(t.app.storage);
    expect(await stays(id)).toMatchObject([{ audienceKey: 'vip', enteredVersion: 4, member: true }]);
  });
});

describe('preview from a sample', () => {
  useApp();

  it('on a store larger than the sample, estimates with an interval around the sample’s share', async () => {
    const calls = Array.from({ length: 300 }, (_, i) => identify(`s${i}`, { plan: i % 3 === 0 ? 'gold' : 'free' }, 5));
    await step(t, calls);
    const r = await call(t, 'POST', '/v1/audiences/preview', { definition: GOLD, exact: true, sampleSize: 100 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const e = r.body.estimate;
    expect(e).toMatchObject({ profiles: 300, exact: false, confidence: 0.95 });
    expect(r.body.exact.count).toBe(100);
    // Whatever the sample drew: the estimate is its share of the store, inside an interval the sample allows.
    expect(e.sampled).toBeGreaterThan(0);
    expect(e.sampled).toBeLessThan(300);
    expect(e.count).toBe(Math.round((e.matched / e.sampled) * 300));
    expect(e.low).toBeGreaterThanOrEqual(e.matched);
    expect(e.high).toBeLessThanOrEqual(300 - (e.sampled - e.matched));
    expect(e.low).toBeLessThanOrEqual(e.count);
    expect(e.count).toBeLessThanOrEqual(e.high);
    expect(r.body.sample.length).toBe(Math.min(10, e.matched));
  });
});

describe('on a store of five profiles (u1–u4 gold, u5 free) and two audiences', () => {
  useApp('shared');
  const USERS = ['u1', 'u2', 'u3', 'u4'];
  /** Public ids of u1–u4, sorted. */
  let gold: string[];
  beforeAll(async () => {
    await step(t, [...USERS.map((u) => identify(u, { plan: 'gold' }, 5)), identify('u5', { plan: 'free' }, 5)]);
    await create('gold');
    await create('nobody', { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'platinum' } });
    await runAudienceJob(t.app.storage);
    gold = (await Promise.all(USERS.map((u) => idOf(t, 'user_id', u)))).sort();
  });

  describe('members', () => {
    it('pages with ?limit=1: each member exactly once, by profile id', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const r = await t.get(`/v1/audiences/gold/members?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.items).toHaveLength(1);
        expect(r.body.items[0]).toEqual({
          profileId: expect.stringMatching(/^prof_/),
          enteredAt: expect.any(String),
          version: 1,
        });
        seen.push(r.body.items[0].profileId);
        cursor = r.body.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual(gold);
    });

    it('?format=csv streams every member as text/csv', async () => {
      const csv = async (key: string) => {
        const res = await t.app.http.inject({
          method: 'GET',
          url: `/v1/audiences/${key}/members?format=csv`,
          headers: { authorization: `Bearer ${t.token}` },
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/csv/);
        return res.body.split('\n');
      };
      const [header, ...lines] = await csv('gold');
      expect(header).toBe('profile_id,entered_at,version');
      expect(lines.pop(), 'the last line ends with a newline').toBe('');
      expect(lines.map((l) => l.split(',')[0])).toEqual(gold);
      for (const l of lines) expect(l).toMatch(/^prof_[^,]+,\d{4}-\d\d-\d\dT[^,]+Z,1$/);
      expect(await csv('nobody')).toEqual(['profile_id,entered_at,version', '']);
    });

    it.each([
      ['an unknown format', '?format=xml'],
      ['a limit of 0', '?limit=0'],
      ['a limit over 1000', '?limit=1001'],
      ['a bad cursor', '?cursor=!!!'],
    ])('refuses %s with 400', async (_, query) => {
      const r = await t.get(`/v1/audiences/gold/members${query}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    });
  });

  describe('preview', () => {
    it('on a small store the sample is every profile: the estimate is exact; nothing is saved', async () => {
      const r = await call(t, 'POST', '/v1/audiences/preview', { definition: GOLD });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.estimate).toMatchObject({
        count: 4,
        low: 4,
        high: 4,
        confidence: 0.95,
        sampled: 5,
        matched: 4,
        profiles: 5,
        exact: true,
      });
      expect(r.body.exact).toBeUndefined();
      expect(r.body.summary).toEqual({ en: 'plan is gold', fr: 'plan est gold' });
      expect([...r.body.sample].sort()).toEqual(gold);
      expect((await t.get('/v1/audiences')).body.items.map((a: { key: string }) => a.key)).toEqual(['gold', 'nobody']);
    });

    it('exact: true also counts every member', async () => {
      const r = await call(t, 'POST', '/v1/audiences/preview', { definition: FREE, exact: true, sampleSize: 100 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.exact).toEqual({ count: 1, ms: expect.any(Number) });
      expect(r.body.estimate).toMatchObject({ count: 1, exact: true });
    });

    it.each([
      ['sampleSize', { definition: GOLD, sampleSize: 99 }],
      ['sampleSize', { definition: GOLD, sampleSize: 100_001 }],
      ['sampleSize', { definition: GOLD, sampleSize: 150.5 }],
      ['sampleSize', { definition: GOLD, sampleSize: 'many' }],
      ['exact', { definition: GOLD, exact: 'yes' }],
      ['definition', {}],
      ['definition.compare.op', { definition: { type: 'trait', key: 'plan', compare: { op: 'is', value: 1 } } }],
      [
        'definition.conditions.1.window.last',
        { definition: { type: 'and', conditions: [GOLD, { ...TWO_ORDERS, window: { last: 0, unit: 'days' } }] } },
      ],
      ['definition', { definition: inAudience('nope') }],
      ['definition', { definition: LTV }],
      ['key', { definition: GOLD, key: 'x' }],
    ])('refuses with 400 naming %s', async (field, b) => {
      const r = await call(t, 'POST', '/v1/audiences/preview', b);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
    });
  });

  describe('roles', () => {
    const READ = [
      ['GET', '/v1/audiences', undefined],
      ['GET', '/v1/audiences/gold', undefined],
      ['GET', '/v1/audiences/gold/versions', undefined],
      ['GET', '/v1/audiences/gold/members', undefined],
      ['POST', '/v1/audiences/preview', { definition: GOLD }],
    ] as const;
    const WRITE = [
      ['POST', '/v1/audiences', { key: 'x', name: 'X', definition: GOLD }],
      ['PATCH', '/v1/audiences/gold', { name: 'Renamed' }],
      ['POST', '/v1/audiences/gold/recompute', undefined],
    ] as const;
    it.each<[Role, number[]]>([
      ['analyst', [403, 403, 403]],
      ['dpo', [403, 403, 403]],
      ['marketer', [201, 200, 200]],
    ])('a %s token reads audiences; its changes answer %j', async (role, statuses) => {
      const { token } = await t.app.tokens.create(role, [role]);
      for (const [method, url, b] of READ)
        expect((await call(t, method, url, b, token)).status, `${method} ${url}`).toBe(200);
      for (const [i, [method, url, b]] of WRITE.entries())
        expect((await call(t, method, url, b, token)).status, `${method} ${url}`).toBe(statuses[i]);
    });

    it('refuses a DELETE to a reader (403, forbidden) and anything without a token (401)', async () => {
      const { token } = await t.app.tokens.create('analyst', ['analyst']);
      const r = await call(t, 'DELETE', '/v1/audiences/gold', undefined, token);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
      expect((await t.get('/v1/audiences/gold')).body.members).toBe(4);
      const res = await t.app.http.inject({ method: 'GET', url: '/v1/audiences' });
      expect(res.statusCode).toBe(401);
    });
  });
});

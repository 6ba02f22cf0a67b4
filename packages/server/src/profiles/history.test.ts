import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';
import type { HistoryRow } from './ports.js';
import { traitsAsOf } from './traits-as-of.js';

/**
 * Trait history on both time axes (DESIGN §5): valid time (event timestamps, `asOf`) and record time (processing
 * time, `knownAt`).
 */

const BASE = Date.UTC(2026, 0, 1, 12, 0);
const ms = (min: number) => BASE + min * 60_000;
const at = (min: number) => new Date(ms(min)).toISOString();
const sleep = (n: number) => new Promise((resolve) => setTimeout(resolve, n));

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

async function process(calls: Record<string, unknown>[]) {
  const r = await t.send(calls);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ accepted: calls.length, quarantined: [] });
  await t.app.drain();
}
const identify = (
  messageId: string,
  min: number,
  traits: Record<string, unknown>,
  ids: Record<string, string> = { userId: 'u1' },
) => ({
  type: 'identify',
  ...ids,
  messageId,
  timestamp: at(min),
  traits,
});

async function profileId(type = 'user_id', value = 'u1'): Promise<string> {
  const r = await t.get(`/v1/profiles/by/${type}/${value}`);
  expect(r.status).toBe(200);
  return r.body.id;
}
interface HistoryItem {
  trait: string;
  value: unknown;
  validFrom: string;
  validTo: string | null;
  recordedAt: string;
  supersededAt: string | null;
  sourceId: string;
  eventId: string | null;
}
interface EventItem {
  id: string;
  messageId: string;
  profileId: string;
}

async function history(id: string, trait?: string): Promise<HistoryItem[]> {
  const r = await t.get(`/v1/profiles/${id}/history${trait ? `?trait=${trait}` : ''}`);
  expect(r.status).toBe(200);
  return r.body.items;
}
/** Current-knowledge intervals (not superseded) of a trait, as `[value, validFrom, validTo]`. */
async function intervals(id: string, trait: string) {
  return (await history(id, trait))
    .filter((r) => r.supersededAt === null)
    .map((r) => [r.value, r.validFrom, r.validTo]);
}
async function profileAt(id: string, query: string) {
  const r = await t.get(`/v1/profiles/${id}?${query}`);
  expect(r.status).toBe(200);
  return r.body;
}
async function eventIds(id: string): Promise<Record<string, string>> {
  const r = await t.get(`/v1/profiles/${id}/events?limit=1000`);
  return Object.fromEntries((r.body.items as EventItem[]).map((e) => [e.messageId, e.id]));
}

describe('trait history through the pipeline (DESIGN §5)', () => {
  it('writes a row only when a value changes, in order', async () => {
    await process([
      identify('m1', 0, { plan: 'free' }),
      identify('m2', 1, { plan: 'free' }),
      identify('m3', 2, { plan: 'pro' }),
      identify('m4', 3, { plan: 'pro', name: 'Jo' }),
    ]);
    const id = await profileId();
    const events = await eventIds(id);
    const rows = await history(id);
    expect(rows).toHaveLength(3);
    expect(await history(id, 'plan')).toMatchObject([
      {
        trait: 'plan',
        value: 'free',
        validFrom: at(0),
        validTo: at(2),
        supersededAt: null,
        eventId: events.m1,
        sourceId: t.sourceId,
      },
      { trait: 'plan', value: 'pro', validFrom: at(2), validTo: null, supersededAt: null, eventId: events.m3 },
    ]);
    expect(await history(id, 'name')).toMatchObject([
      { value: 'Jo', validFrom: at(3), validTo: null, eventId: events.m4 },
    ]);
    for (const r of rows) expect(Date.parse(r.recordedAt)).toBeGreaterThan(ms(0));
    expect((await profileAt(id, '')).traits).toEqual({ plan: 'pro', name: 'Jo' });
  });

  it('inserts a late event into its interval; the current value stays the newest', async () => {
    await process([identify('m1', 10, { plan: 'a' }), identify('m3', 30, { plan: 'c' })]);
    await process([identify('m2', 20, { plan: 'b' })]);
    const id = await profileId();
    const events = await eventIds(id);
    expect(await intervals(id, 'plan')).toEqual([
      ['a', at(10), at(20)],
      ['b', at(20), at(30)],
      ['c', at(30), null],
    ]);
    // The interval the late event split is kept, superseded.
    const superseded = (await history(id, 'plan')).filter((r) => r.supersededAt !== null);
    expect(superseded).toMatchObject([{ value: 'a', validFrom: at(10), validTo: at(30) }]);
    expect((await history(id, 'plan')).find((r) => r.value === 'b')?.eventId).toBe(events.m2);
    expect((await profileAt(id, '')).traits.plan).toBe('c');
  });

  it('a late value between two observations of the same value lasts only until the next observation', async () => {
    await process([identify('m1', 10, { plan: 'a' }), identify('m3', 30, { plan: 'a' })]);
    expect(await intervals(await profileId(), 'plan')).toEqual([['a', at(10), null]]);
    await process([identify('m2', 20, { plan: 'b' })]);
    const id = await profileId();
    expect(await intervals(id, 'plan')).toEqual([
      ['a', at(10), at(20)],
      ['b', at(20), at(30)],
      ['a', at(30), null],
    ]);
    expect((await profileAt(id, '')).traits.plan).toBe('a');
    expect((await profileAt(id, `asOf=${at(25)}`)).traits.plan).toBe('b');
    expect((await profileAt(id, `asOf=${at(35)}`)).traits.plan).toBe('a');
  });

  it('a late value equal to the interval it falls in writes nothing', async () => {
    await process([identify('m1', 10, { plan: 'a' }), identify('m3', 30, { plan: 'c' })]);
    await process([identify('m2', 20, { plan: 'a' })]);
    const rows = await history(await profileId(), 'plan');
    expect(rows.map((r) => [r.value, r.validFrom, r.validTo, r.supersededAt])).toEqual([
      ['a', at(10), at(30), null],
      ['c', at(30), null, null],
    ]);
  });

  it('a late value older than every observation ends where the first one starts', async () => {
    await process([identify('m2', 20, { plan: 'b' })]);
    await process([identify('m1', 10, { plan: 'a' })]);
    const id = await profileId();
    expect(await intervals(id, 'plan')).toEqual([
      ['a', at(10), at(20)],
      ['b', at(20), null],
    ]);
    expect((await profileAt(id, '')).traits.plan).toBe('b');
    expect((await profileAt(id, `asOf=${at(15)}`)).traits.plan).toBe('a');
  });

  it('?asOf=T returns the values valid at T', async () => {
    await process([
      identify('m1', 10, { plan: 'a', name: 'Jo' }),
      identify('m2', 20, { plan: 'b' }),
      identify('m3', 30, { plan: 'c', name: 'Joe' }),
    ]);
    const id = await profileId();
    const cases: [string, Record<string, unknown>][] = [
      [at(5), {}],
      [at(10), { plan: 'a', name: 'Jo' }],
      [at(19), { plan: 'a', name: 'Jo' }],
      [at(20), { plan: 'b', name: 'Jo' }],
      [String(ms(25)), { plan: 'b', name: 'Jo' }],
      [at(31), { plan: 'c', name: 'Joe' }],
    ];
    for (const [asOf, traits] of cases) {
      const p = await profileAt(id, `asOf=${asOf}`);
      expect(p.traits, `asOf=${asOf}`).toEqual(traits);
      expect(p.id).toBe(id);
    }
    expect((await profileAt(id, `asOf=${at(19)}`)).asOf).toBe(at(19));
    const bad = await t.get(`/v1/profiles/${id}?asOf=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  it('&knownAt=T2 returns what had been recorded by T2', async () => {
    await process([identify('m1', 10, { plan: 'a' }), identify('m3', 30, { plan: 'c' })]);
    await sleep(20);
    const k = Date.now();
    await sleep(20);
    await process([identify('m2', 20, { plan: 'b' })]);
    const id = await profileId();
    // As known now, the late value is there.
    expect((await profileAt(id, `asOf=${at(25)}`)).traits).toEqual({ plan: 'b' });
    // As known at k, before the late event was processed.
    const before = await profileAt(id, `asOf=${at(25)}&knownAt=${k}`);
    expect(before.traits).toEqual({ plan: 'a' });
    expect(before.knownAt).toBe(new Date(k).toISOString());
    expect((await profileAt(id, `asOf=${at(35)}&knownAt=${new Date(k).toISOString()}`)).traits).toEqual({ plan: 'c' });
    // knownAt alone: the current values as known then.
    expect((await profileAt(id, `knownAt=${k}`)).traits).toEqual({ plan: 'c' });
    // Before anything was recorded.
    expect((await profileAt(id, `asOf=${at(35)}&knownAt=1`)).traits).toEqual({});
  });

  it('&knownAt=T2 hides identifiers linked after T2', async () => {
    await process([identify('m1', 10, { plan: 'a' })]);
    await sleep(20);
    const k = Date.now();
    await sleep(20);
    await process([identify('m2', 20, { email: 'late@example.com' })]);
    const id = await profileId();
    expect((await profileAt(id, '')).identities).toEqual([
      { type: 'email', value: 'late@example.com' },
      { type: 'user_id', value: 'u1' },
    ]);
    expect((await profileAt(id, `knownAt=${k}`)).identities).toEqual([{ type: 'user_id', value: 'u1' }]);
  });

  describe('merges', () => {
    async function mergeTwo() {
      await process([identify('m1', 10, { plan: 'free' }, { anonymousId: 'a1' })]);
      await process([identify('m2', 20, { plan: 'pro', name: 'Jo' }, { userId: 'u1' })]);
      await process([identify('m3', 30, {}, { userId: 'u1', anonymousId: 'a1' })]);
      const survivor = await profileId('anonymous_id', 'a1');
      const events: EventItem[] = (await t.get(`/v1/profiles/${survivor}/events`)).body.items;
      const merged = events.find((e) => e.messageId === 'm2')?.profileId as string;
      expect(merged).toMatch(/^prof_/);
      expect(merged).not.toBe(survivor);
      return { survivor, merged };
    }

    it('asOf before the merge on the merged id returns that id’s own pre-merge profile', async () => {
      const { survivor, merged } = await mergeTwo();
      const now = await profileAt(merged, '');
      expect(now.id).toBe(survivor);
      expect(now.traits).toEqual({ plan: 'pro', name: 'Jo' });
      expect(now.mergedIds).toEqual([merged]);

      const own = await profileAt(merged, `asOf=${at(25)}`);
      expect(own.id).toBe(merged);
      expect(own.traits).toEqual({ plan: 'pro', name: 'Jo' });
      expect(own.identities).toEqual([{ type: 'user_id', value: 'u1' }]);
      expect(own.mergedIds).toEqual([]);

      const before = await profileAt(merged, `asOf=${at(15)}`);
      expect(before.id).toBe(merged);
      expect(before.traits).toEqual({});
      expect(before.identities).toEqual([]);

      const survivorBefore = await profileAt(survivor, `asOf=${at(15)}`);
      expect(survivorBefore.id).toBe(survivor);
      expect(survivorBefore.traits).toEqual({ plan: 'free' });
      expect(survivorBefore.identities).toEqual([{ type: 'anonymous_id', value: 'a1' }]);
    });

    it('knownAt before the merge was processed shows each profile as it was known then', async () => {
      await process([identify('m1', 10, { plan: 'free' }, { anonymousId: 'a1' })]);
      await process([identify('m2', 20, { plan: 'pro', name: 'Jo' }, { userId: 'u1' })]);
      await sleep(20);
      const k = Date.now();
      await sleep(20);
      await process([identify('m3', 30, {}, { userId: 'u1', anonymousId: 'a1' })]);
      const survivor = await profileId('anonymous_id', 'a1');
      const events: EventItem[] = (await t.get(`/v1/profiles/${survivor}/events`)).body.items;
      const merged = events.find((e) => e.messageId === 'm2')?.profileId as string;
      expect(merged).toMatch(/^prof_/);

      const mergedThen = await profileAt(merged, `knownAt=${k}`);
      expect(mergedThen.id).toBe(merged);
      expect(mergedThen.traits).toEqual({ plan: 'pro', name: 'Jo' });
      const survivorThen = await profileAt(survivor, `knownAt=${k}`);
      expect(survivorThen.traits).toEqual({ plan: 'free' });
      expect(survivorThen.mergedIds).toEqual([]);
      expect(survivorThen.identities).toEqual([{ type: 'anonymous_id', value: 'a1' }]);
    });

    it('asOf after the merging event (valid time) answers with the survivor, whenever it was processed', async () => {
      const { survivor, merged } = await mergeTwo();
      const after = await profileAt(merged, `asOf=${at(35)}`);
      expect(after.id).toBe(survivor);
      expect(after.mergedIds).toEqual([merged]);
      expect(after.identities).toEqual([
        { type: 'anonymous_id', value: 'a1' },
        { type: 'user_id', value: 'u1' },
      ]);
    });
  });
});

describe('traitsAsOf (unit)', () => {
  let n = 0;
  const row = (
    trait: string,
    value: unknown,
    validFrom: number,
    recordedAt: number,
    more: Partial<HistoryRow> = {},
  ): HistoryRow => ({
    id: `r${String(++n).padStart(4, '0')}`,
    profileId: 'p',
    trait,
    value,
    validFrom,
    validTo: null,
    recordedAt,
    supersededAt: null,
    sourceId: 's1',
    eventId: null,
    ...more,
  });
  const values = (rows: HistoryRow[], asOf: number, knownAt: number) =>
    Object.fromEntries(Object.entries(traitsAsOf(rows, asOf, knownAt)).map(([k, v]) => [k, v.value]));

  const inOrder = [row('plan', 'a', 100, 10), row('plan', 'b', 200, 10), row('plan', 'c', 300, 10)];
  const late = [
    row('plan', 'a', 100, 10, { supersededAt: 50 }),
    row('plan', 'c', 300, 10),
    row('plan', 'a', 100, 50, { validTo: 200 }),
    row('plan', 'b', 200, 50, { validTo: 300 }),
  ];
  const ties = [row('x', 'older', 100, 10, { id: 'z' }), row('x', 'newer', 100, 20, { id: 'a' })];
  const sameRecord = [row('x', 'first', 100, 10, { id: 'a' }), row('x', 'second', 100, 10, { id: 'b' })];
  const closedLater = [row('plan', 'a', 100, 10, { validTo: 200 }), row('plan', 'b', 200, 30)];

  it.each<[string, HistoryRow[], number, number, Record<string, unknown>]>([
    ['before any row: nothing', inOrder, 99, 1_000, {}],
    ['validFrom is inclusive', inOrder, 200, 1_000, { plan: 'b' }],
    ['between rows: the latest start not after asOf', inOrder, 250, 1_000, { plan: 'b' }],
    ['after the last row: the open value', inOrder, 10_000, 1_000, { plan: 'c' }],
    ['rows recorded after knownAt do not count', inOrder, 10_000, 9, {}],
    ['recordedAt is inclusive', inOrder, 10_000, 10, { plan: 'c' }],
    ['a late correction, as known before it', late, 250, 49, { plan: 'a' }],
    ['a late correction, as known when it was made', late, 250, 50, { plan: 'b' }],
    ['a late correction, after the next value', late, 300, 50, { plan: 'c' }],
    ['a superseded row still counts when knownAt is before the supersession', late, 150, 49, { plan: 'a' }],
    ['equal validFrom: the later recorded wins', ties, 100, 100, { x: 'newer' }],
    ['equal validFrom and recordedAt: the larger id wins', sameRecord, 100, 100, { x: 'second' }],
    ['validTo set later does not end a value as known before', closedLater, 250, 20, { plan: 'a' }],
    ['the next row ends a value', closedLater, 250, 30, { plan: 'b' }],
  ])('%s', (_, rows, asOf, knownAt, expected) => {
    expect(values(rows, asOf, knownAt)).toEqual(expected);
  });

  it('answers each trait independently, sorted by name, with the value’s start and source', () => {
    const rows = [
      row('zeta', 1, 100, 10, { sourceId: 's9' }),
      row('alpha', null, 150, 10),
      row('alpha', { tier: 2 }, 50, 10),
    ];
    const out = traitsAsOf(rows, 1_000, 1_000);
    expect(Object.keys(out)).toEqual(['alpha', 'zeta']);
    expect(out).toEqual({
      alpha: { value: null, validFrom: 150, sourceId: 's1' },
      zeta: { value: 1, validFrom: 100, sourceId: 's9' },
    });
    expect(traitsAsOf([], 1_000, 1_000)).toEqual({});
  });
});

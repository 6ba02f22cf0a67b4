/**
 * Memberships as the pipeline and the scheduler keep them (DESIGN §6, docs/audiences.md "Membership"): the
 * incremental evaluator run for the profiles a batch touched, the full recomputation, re-checks of expiring windows,
 * merges, dependent audiences, deletion; and, on a seeded random workload, the pipeline's memberships equal what a
 * full recomputation finds (it changes nothing).
 */
import { type AndCondition, type AudienceDefinition, EXAMPLE_AUDIENCE } from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../seeded-random.js';
import { bare, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { AUDIENCE_ENTERED, AUDIENCE_EXITED, loadAudienceFilter } from './evaluate-profiles.js';
import { runAudienceJob } from './recompute.js';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The worked example without its audience condition: gold, at least 2 orders > 50 in the last 30 days. */
const GOLD_BUYERS: AudienceDefinition = {
  type: 'and',
  conditions: (EXAMPLE_AUDIENCE as AndCondition).conditions.slice(0, 2),
};

let t: TestApp;
let n = 0;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.app.close());

const create = (key: string, definition: AudienceDefinition) =>
  t.app.audiences.create({ key, name: key, definition }, 'tok_test');

const identify = (userId: string, traits: Record<string, unknown>, timestamp = Date.now()) => ({
  type: 'identify',
  userId,
  traits,
  messageId: `m${++n}`,
  timestamp: iso(timestamp),
});
const order = (userId: string, total: number, timestamp: number) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  properties: { total },
  messageId: `m${++n}`,
  timestamp: iso(timestamp),
});

/** Open stays of a user's profile, by audience key. */
async function audiencesOf(userId: string): Promise<string[]> {
  const id = bare(await idOf(t, 'user_id', userId));
  return (await t.app.storage.memberships.current([id])).map((m) => m.audienceKey).sort();
}

async function changes(kind?: string) {
  const all = await t.app.storage.changes.read(`test-${++n}`, 100_000);
  return all.filter((c) => c.kind.startsWith('audience.') && (!kind || c.kind === kind));
}

describe('memberships kept by the pipeline', () => {
  it('enters when an event makes the definition hold, exits when one makes it fail, each on the bus', async () => {
    await create('gold', GOLD_BUYERS);
    const now = Date.now();
    await step(t, [identify('u1', { plan: 'gold' }), order('u1', 60, now - DAY)]);
    expect(await audiencesOf('u1')).toEqual([]);
    await step(t, [order('u1', 51, now - 2 * DAY)]);
    expect(await audiencesOf('u1')).toEqual(['gold']);
    const [entered] = await changes(AUDIENCE_ENTERED);
    const profileId = bare(await idOf(t, 'user_id', 'u1'));
    expect(entered.profileId).toBe(profileId);
    expect(entered.payload).toMatchObject({ audienceKey: 'gold', profileId, version: 1 });

    await step(t, [identify('u1', { plan: 'silver' })]);
    expect(await audiencesOf('u1')).toEqual([]);
    const [exited] = await changes(AUDIENCE_EXITED);
    expect(exited.payload).toMatchObject({ audienceKey: 'gold', profileId, reason: 'condition' });
    const [stay] = await t.app.storage.memberships.history([profileId]);
    expect(stay).toMatchObject({ audienceKey: 'gold', exitReason: 'condition', enteredVersion: 1, exitedVersion: 1 });
    expect(stay.exitedAt).not.toBeNull();
  });

  it('evaluates audiences named by others first, in the same batch', async () => {
    await create('gold', GOLD_BUYERS);
    await create('gold-fr', {
      type: 'and',
      conditions: [
        { type: 'audience', key: 'gold' },
        { type: 'trait', key: 'country', compare: { op: 'equals', value: 'FR' } },
      ],
    });
    await create('not-gold', { type: 'not', condition: { type: 'audience', key: 'gold' } });
    const now = Date.now();
    await step(t, [identify('u2', { plan: 'gold', country: 'FR' }), order('u2', 70, now - DAY), order('u2', 80, now)]);
    expect(await audiencesOf('u2')).toEqual(['gold', 'gold-fr']);
    await step(t, [identify('u3', { plan: 'free' })]);
    expect(await audiencesOf('u3')).toEqual(['not-gold']);
  });

  it('closes the stays of a profile merged into another, and evaluates the survivor', async () => {
    await create('gold', GOLD_BUYERS);
    await create('known', { type: 'trait', key: 'email', compare: { op: 'exists' } });
    const now = Date.now();
    await step(t, [
      { ...identify('a', { plan: 'gold' }), anonymousId: 'web-a' },
      order('a', 60, now - DAY),
      {
        type: 'identify',
        anonymousId: 'web-b',
        traits: { email: 'b@example.com' },
        messageId: 'mb',
        timestamp: iso(now),
      },
      {
        type: 'track',
        anonymousId: 'web-b',
        event: 'Order Completed',
        properties: { total: 90 },
        messageId: 'mb2',
        timestamp: iso(now - DAY),
      },
    ]);
    const a = bare(await idOf(t, 'user_id', 'a'));
    const b = bare(await idOf(t, 'anonymous_id', 'web-b'));
    expect((await t.app.storage.memberships.current([a])).map((m) => m.audienceKey)).toEqual([]);
    expect((await t.app.storage.memberships.current([b])).map((m) => m.audienceKey)).toEqual(['known']);
    // web-b logs in as `a`: one of the two profiles survives with both orders and the e-mail.
    await step(t, [{ type: 'identify', userId: 'a', anonymousId: 'web-b', messageId: 'login', timestamp: iso(now) }]);
    const survivor = bare(await idOf(t, 'user_id', 'a'));
    const loser = survivor === a ? b : a;
    expect(await audiencesOf('a')).toEqual(['gold', 'known']);
    expect(await t.app.storage.memberships.current([loser])).toEqual([]);
    const closed = (await t.app.storage.memberships.history([loser])).filter((s) => s.exitedAt !== null);
    for (const s of closed) expect(s.exitReason).toBe('merged');
    expect(await t.app.storage.memberships.takeDue(Number.MAX_SAFE_INTEGER, 100)).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ profileId: loser })]),
    );
  });
});

describe('which stored events the incremental evaluator looks at', () => {
  const effects = {
    type: 'track',
    name: null as string | null,
    created: false,
    merged: false,
    traits: false,
    consents: false,
  };
  it('only those that can move a member: new or merged profiles, traits, and what a live audience reads', async () => {
    expect((await loadAudienceFilter(t.app.storage)).relevant({ ...effects, created: true })).toBe(false);
    await t.app.computedTraits.put(
      'views',
      { name: 'Views', definition: { fn: 'count', event: 'Pricing Viewed' } },
      'tok_test',
    );
    await create('gold-buyers', GOLD_BUYERS);
    await create('viewers', { type: 'computed_trait', key: 'views', compare: { op: 'gte', value: 2 } });
    const { relevant } = await loadAudienceFilter(t.app.storage);
    const cases: [Partial<typeof effects>, boolean][] = [
      [{ name: 'Order Completed' }, true],
      [{ name: 'Pricing Viewed' }, true], // through the computed trait
      [{ name: 'Page Viewed' }, false],
      [{ type: 'page', name: 'Order Completed' }, false], // event conditions read track calls
      [{ name: 'Page Viewed', created: true }, true],
      [{ name: 'Page Viewed', merged: true }, true],
      [{ type: 'identify', traits: true }, true],
      [{ type: 'identify', consents: true }, false], // no audience reads consents
      [{ type: 'group' }, false], // nor accounts
    ];
    for (const [c, want] of cases) expect(relevant({ ...effects, ...c }), JSON.stringify(c)).toBe(want);
    await create('consented', { type: 'consent', purpose: 'marketing', state: 'granted' });
    await create('b2b', { type: 'entity', entity: 'account' });
    const again = (await loadAudienceFilter(t.app.storage)).relevant;
    expect(again({ ...effects, type: 'identify', consents: true })).toBe(true);
    expect(again({ ...effects, type: 'group' })).toBe(true);
  });

  it('a page view does not evaluate its profile: an expired window is the re-check’s to close', async () => {
    await create('gold-buyers', GOLD_BUYERS);
    const now = Date.now();
    // The first order leaves the 30-day window 2.5 s from now.
    await t.send([
      identify('v1', { plan: 'gold' }),
      order('v1', 60, now - 30 * DAY + 2_500),
      order('v1', 70, now - 2 * DAY),
    ]);
    await t.app.drain();
    expect(await audiencesOf('v1')).toEqual(['gold-buyers']);
    await new Promise((r) => setTimeout(r, 3_000));
    await t.send([{ type: 'page', userId: 'v1', name: 'Home', messageId: `m${++n}`, timestamp: iso(Date.now()) }]);
    await t.app.drain();
    expect(await audiencesOf('v1')).toEqual(['gold-buyers']); // not evaluated by the page view
    await runAudienceJob(t.app.storage); // the re-check set at the window's edge is due
    expect(await audiencesOf('v1')).toEqual([]);
    expect(await changes(AUDIENCE_EXITED)).toHaveLength(1);
  });
});

describe('the scheduler', () => {
  it('recomputes a new audience over the profiles stored before it, then leaves it to the pipeline', async () => {
    const now = Date.now();
    await step(t, [
      identify('old1', { plan: 'gold' }),
      order('old1', 60, now - DAY),
      order('old1', 61, now - 3 * DAY),
      identify('old2', { plan: 'gold' }),
      order('old2', 60, now - DAY),
    ]);
    await create('gold', GOLD_BUYERS);
    expect(await audiencesOf('old1')).toEqual([]);
    const run = await runAudienceJob(t.app.storage);
    expect(run.recomputed).toMatchObject([{ key: 'gold', members: 1, entered: 1, exited: 0 }]);
    expect(await audiencesOf('old1')).toEqual(['gold']);
    expect((await t.app.audiences.get('gold')).computedVersion).toBe(1);
    // Nothing pending: the next run recomputes nothing.
    expect((await runAudienceJob(t.app.storage)).recomputed).toEqual([]);
  });

  it('re-checks expiring windows: a buyer whose order ages out of the window leaves at that instant', async () => {
    await create('gold', GOLD_BUYERS);
    const now = Date.now();
    const oldest = now - 29 * DAY;
    await step(t, [identify('u4', { plan: 'gold' }), order('u4', 60, now - DAY), order('u4', 70, oldest)]);
    expect(await audiencesOf('u4')).toEqual(['gold']);
    const id = bare(await idOf(t, 'user_id', 'u4'));
    // The earliest instant an order leaves the 30-day window.
    const due = oldest + 30 * DAY;
    const before = await runAudienceJob(t.app.storage, { now: () => due - 1 });
    expect(before).toMatchObject({ rechecked: 0, exited: 0 });
    const at = await runAudienceJob(t.app.storage, { now: () => due });
    expect(at).toMatchObject({ rechecked: 1, exited: 1 });
    expect(await audiencesOf('u4')).toEqual([]);
    const [exit] = await changes(AUDIENCE_EXITED);
    expect(exit.payload).toMatchObject({ audienceKey: 'gold', profileId: id, reason: 'condition' });
    // The next re-check is when the other order leaves the window.
    const next = await t.app.storage.memberships.takeDue(Number.MAX_SAFE_INTEGER, 10);
    expect(next).toEqual([{ profileId: id, dueAt: now - DAY + 30 * DAY }]);
  });

  it('a full recomputation leaves re-checks for window edges (someone who stops buying leaves)', async () => {
    const now = Date.now();
    await step(t, [identify('u5', { plan: 'gold' }), order('u5', 60, now - 10 * DAY), order('u5', 70, now - 20 * DAY)]);
    await create('gold', GOLD_BUYERS);
    await runAudienceJob(t.app.storage, { now: () => now });
    expect(await audiencesOf('u5')).toEqual(['gold']);
    const summary = await runAudienceJob(t.app.storage, { now: () => now + 10 * DAY });
    expect(summary).toMatchObject({ rechecked: 1, exited: 1 });
    expect(await audiencesOf('u5')).toEqual([]);
  });

  it('closes every stay of a deleted audience (reason deleted) and frees its key', async () => {
    await create('known', { type: 'trait', key: 'email', compare: { op: 'exists' } });
    await step(t, [identify('u6', { email: 'u6@example.com' }), identify('u7', { email: 'u7@example.com' })]);
    expect(await audiencesOf('u6')).toEqual(['known']);
    await t.app.audiences.remove('known', 'tok_test');
    // Before the scheduler runs, a batch touching a member closes its stay too.
    await step(t, [identify('u6', { name: 'Six' })]);
    expect(await audiencesOf('u6')).toEqual([]);
    const run = await runAudienceJob(t.app.storage);
    expect(run.recomputed).toMatchObject([{ key: 'known', exited: 1 }]);
    expect(await audiencesOf('u7')).toEqual([]);
    const reasons = (await changes(AUDIENCE_EXITED)).map((c) => (c.payload as { reason: string }).reason);
    expect(reasons).toEqual(['deleted', 'deleted']);
    expect(await t.app.storage.audiences.get('known')).toBeUndefined();
    const again = await create('known', { type: 'trait', key: 'email', compare: { op: 'exists' } });
    expect(again.version).toBe(3);
  });
});

describe('computed traits', () => {
  it('an audience on computed traits: entered by events, left by a days-since re-check', async () => {
    await t.app.computedTraits.put(
      'orders_30d',
      {
        name: 'Orders, 30 days',
        definition: { fn: 'count', event: 'Order Completed', window: { last: 30, unit: 'days' } },
      },
      'tok_test',
    );
    await t.app.computedTraits.put(
      'days_since_order',
      { name: 'Days since the last order', definition: { fn: 'days_since', event: 'Order Completed' } },
      'tok_test',
    );
    await create('regular', {
      type: 'and',
      conditions: [
        { type: 'computed_trait', key: 'orders_30d', compare: { op: 'gte', value: 2 } },
        { type: 'computed_trait', key: 'days_since_order', compare: { op: 'lte', value: 7 } },
      ],
    });
    const now = Date.now();
    await runAudienceJob(t.app.storage, { now: () => now });
    await step(t, [order('c1', 10, now - 3 * DAY)]);
    expect(await audiencesOf('c1')).toEqual([]);
    await step(t, [order('c1', 10, now - 2 * DAY)]);
    expect(await audiencesOf('c1')).toEqual(['regular']);
    const id = bare(await idOf(t, 'user_id', 'c1'));
    expect(await t.app.computedTraits.values(id, now)).toEqual({ orders_30d: 2, days_since_order: 2 });
    // Six days later the last order is 8 days old: the re-check at that whole day takes c1 out.
    const later = await runAudienceJob(t.app.storage, { now: () => now + 6 * DAY });
    expect(later).toMatchObject({ recomputed: [], rechecked: 1, exited: 1 });
    expect(await audiencesOf('c1')).toEqual([]);
  });

  it('refuses an audience on an unknown computed trait, and deleting a trait an audience reads', async () => {
    await expect(create('x', { type: 'computed_trait', key: 'nope', compare: { op: 'exists' } })).rejects.toThrow(
      /computed trait "nope", which does not exist/,
    );
    await t.app.computedTraits.put('n', { name: 'n', definition: { fn: 'count', event: 'E' } }, 'tok_test');
    await create('uses-n', { type: 'computed_trait', key: 'n', compare: { op: 'gt', value: 0 } });
    await expect(t.app.computedTraits.remove('n', 'tok_test')).rejects.toThrow(/read by audience "uses-n"/);
  });
});

describe('incremental and full evaluation agree', () => {
  it('on a seeded random workload, a full recomputation after the pipeline changes nothing', async () => {
    await t.app.computedTraits.put(
      'spend_30d',
      {
        name: 'Spend, 30 days',
        definition: { fn: 'sum', event: 'Order Completed', property: 'total', window: { last: 30, unit: 'days' } },
      },
      'tok_test',
    );
    await t.app.computedTraits.put(
      'recency',
      { name: 'Days since the last order', definition: { fn: 'days_since', event: 'Order Completed' } },
      'tok_test',
    );
    const definitions: [string, AudienceDefinition][] = [
      [
        'spenders',
        {
          type: 'and',
          conditions: [
            { type: 'computed_trait', key: 'spend_30d', compare: { op: 'gte', value: 100 } },
            { type: 'computed_trait', key: 'recency', compare: { op: 'lt', value: 20 } },
          ],
        },
      ],
      ['gold', GOLD_BUYERS],
      [
        'big-spender',
        {
          type: 'event',
          name: 'Order Completed',
          aggregate: { fn: 'sum', property: 'total', compare: { op: 'gte', value: 200 } },
          window: { last: 14, unit: 'days' },
        },
      ],
      [
        'lapsed',
        { type: 'not', condition: { type: 'event', name: 'Order Completed', window: { last: 7, unit: 'days' } } },
      ],
      [
        'gold-or-lapsed',
        {
          type: 'or',
          conditions: [
            { type: 'audience', key: 'gold' },
            { type: 'audience', key: 'lapsed' },
          ],
        },
      ],
      ['consented', { type: 'consent', purpose: 'marketing', state: 'granted' }],
    ];
    for (const [key, definition] of definitions) await create(key, definition);
    await runAudienceJob(t.app.storage);
    const r = createSeededRandom(42);
    const now = Date.now();
    for (let batch = 0; batch < 20; batch++) {
      const calls: Record<string, unknown>[] = [];
      for (let i = 0; i < 25; i++) {
        const user = `r${r.int(0, 40)}`;
        const k = r.int(0, 5);
        if (k === 0) calls.push(identify(user, { plan: r.pick(['gold', 'silver', 'gold']) }));
        else if (k === 1)
          calls.push({
            ...identify(user, {}),
            context: { consent: { categoryPreferences: { marketing: r.chance(0.6) } } },
          });
        else if (k === 2)
          calls.push({
            type: 'alias',
            userId: user,
            previousId: `r${r.int(0, 40)}`,
            messageId: `m${++n}`,
            timestamp: iso(now),
          });
        else calls.push(order(user, r.pick([10, 50, 51, 60, 120, 200]), now - r.int(0, 40) * DAY - r.int(0, 1000)));
      }
      await step(t, calls);
    }
    const open = async () => [...(await t.app.storage.memberships.counts())].sort();
    const before = await open();
    expect(before.length).toBeGreaterThanOrEqual(4);
    for (const key of definitions.map(([k]) => k)) await t.app.audiences.requestRecompute(key);
    const run = await runAudienceJob(t.app.storage);
    expect(run.recomputed.map((x) => [x.key, x.entered, x.exited])).toEqual(
      expect.arrayContaining(definitions.map(([k]) => [k, 0, 0])),
    );
    expect(await open()).toEqual(before);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { at, bare, call, idOf, merge, snapshot, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { loadMatchDecisions } from './match-decisions.js';

/**
 * Unmerge (DESIGN §4): round trips through the real pipeline. Each part's profile view and events are taken before
 * a merge; after the merge and the unmerge each part answers as before, and new events with its identifiers land on
 * it. Stored rows keep their profile ids.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const unmerge = (id: string, profileIds: string[], reason?: string) =>
  call(t, 'POST', `/v1/profiles/${id}/unmerge`, { profileIds, ...(reason ? { reason } : {}) });

/** A's view before the merge, except `updatedAt`: the unmerge rebuilt its record now. */
const withoutUpdatedAt = ({ updatedAt: _, ...view }: Record<string, unknown>) => view;

/** Jo (a known user) and an anonymous visitor, each with traits, consents and events of their own. */
async function twoPeople() {
  await step(t, [
    {
      type: 'identify',
      userId: 'u1',
      messageId: 'a1',
      timestamp: at(1),
      traits: { name: 'Jo', plan: 'pro', email: 'jo@example.com' },
      context: { consent: { categoryPreferences: { newsletter: true } } },
    },
    { type: 'track', userId: 'u1', messageId: 'a2', timestamp: at(2), event: 'Bought', properties: { total: 9 } },
  ]);
  await step(t, [
    {
      type: 'identify',
      anonymousId: 'anon-1',
      messageId: 'b1',
      timestamp: at(3),
      traits: { plan: 'free', city: 'Lyon' },
      context: { consent: { categoryPreferences: { ads: false } } },
    },
    { type: 'page', anonymousId: 'anon-1', messageId: 'b2', timestamp: at(4), name: 'Home' },
  ]);
  return { a: await idOf(t, 'user_id', 'u1'), b: await idOf(t, 'anonymous_id', 'anon-1') };
}

describe('unmerge round trip', () => {
  it('after a merge without an event (matcher, review), each part answers as before the merge', async () => {
    const { a, b } = await twoPeople();
    const before = { a: await snapshot(t, a), b: await snapshot(t, b) };

    const merged = await merge(t, [b, a]);
    expect(merged).toMatchObject({ ok: true, survivorId: bare(a), merged: [bare(b)] });
    const joined = await snapshot(t, b);
    expect(joined.view.id).toBe(a);
    expect(joined.view.mergedIds).toEqual([b]);
    // The most recent value of each trait survives: b's plan (t3) is more recent than a's (t1).
    expect(joined.view.traits).toEqual({ name: 'Jo', plan: 'free', email: 'jo@example.com', city: 'Lyon' });
    expect(joined.events).toHaveLength(4);

    const res = await unmerge(a, [b], 'two people sharing a tablet');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.parts).toEqual([
      { id: a, mergedIds: [] },
      { id: b, mergedIds: [] },
    ]);
    expect(res.body.unmerges).toEqual([
      expect.objectContaining({
        profileId: b,
        survivorId: a,
        reason: 'two people sharing a tablet',
        decidedBy: expect.stringMatching(/^tok_/),
        settingsVersion: 0,
      }),
    ]);

    const after = { a: await snapshot(t, a), b: await snapshot(t, b) };
    expect(after.b).toEqual(before.b);
    expect(after.a.events).toEqual(before.a.events);
    expect(withoutUpdatedAt(after.a.view)).toEqual(withoutUpdatedAt(before.a.view));
    expect(Date.parse(after.a.view.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.a.view.updatedAt));

    // New events with an identifier of either part land on that part.
    await step(t, [
      { type: 'track', anonymousId: 'anon-1', messageId: 'b3', timestamp: at(20), event: 'Came back' },
      { type: 'identify', userId: 'u1', messageId: 'a3', timestamp: at(21), traits: { plan: 'team' } },
    ]);
    const events = (id: string) => t.get(`/v1/profiles/${id}/events`).then((r) => r.body.items);
    expect((await events(b)).map((e: { messageId: string }) => e.messageId)).toEqual(['b3', 'b2', 'b1']);
    expect((await events(a)).map((e: { messageId: string }) => e.messageId)).toEqual(['a3', 'a2', 'a1']);
    expect((await t.get(`/v1/profiles/${a}`)).body.traits.plan).toBe('team');
    expect((await t.get(`/v1/profiles/${b}`)).body.traits.plan).toBe('free');
  });

  it('after a deterministic merge, the split part answers as before and the merging event stays with the survivor', async () => {
    const { a, b } = await twoPeople();
    const before = { a: await snapshot(t, a), b: await snapshot(t, b) };
    // anon-1 logs in as u1: the pipeline merges b into a.
    await step(t, [{ type: 'identify', userId: 'u1', anonymousId: 'anon-1', messageId: 'ab', timestamp: at(10) }]);
    expect(await idOf(t, 'anonymous_id', 'anon-1')).toBe(a);
    expect((await t.get(`/v1/profiles/${a}`)).body.traits.city).toBe('Lyon');

    expect((await unmerge(b, [b])).status).toBe(200);
    const after = { a: await snapshot(t, a), b: await snapshot(t, b) };
    expect(after.b).toEqual(before.b);
    expect(withoutUpdatedAt(after.a.view)).toEqual(withoutUpdatedAt(before.a.view));
    // The merging event was stored under a (never rewritten): it stays there.
    expect(after.a.events.map((e: { messageId: string }) => e.messageId)).toEqual(['ab', 'a2', 'a1']);
    expect(await idOf(t, 'anonymous_id', 'anon-1')).toBe(b);
  });

  it('bitemporal: as known before the unmerge the profiles were one; as known now they never were', async () => {
    const { a, b } = await twoPeople();
    const mergedAt = Date.now();
    await merge(t, [a, b], { now: mergedAt, validAt: Date.parse(at(5)) });
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    expect((await unmerge(a, [b])).status).toBe(200);
    const view = (id: string, q: string) => t.get(`/v1/profiles/${id}?${q}`).then((r) => r.body);

    const thenB = await view(b, `asOf=${encodeURIComponent(at(6))}&knownAt=${between}`);
    expect(thenB.id).toBe(a);
    expect(thenB.mergedIds).toEqual([b]);
    expect(thenB.traits).toMatchObject({ plan: 'free', city: 'Lyon', name: 'Jo' });
    const nowB = await view(b, `asOf=${encodeURIComponent(at(6))}`);
    expect(nowB.id).toBe(b);
    expect(nowB.traits).toEqual({ plan: 'free', city: 'Lyon' });
    const nowA = await view(a, `asOf=${encodeURIComponent(at(6))}`);
    expect(nowA.mergedIds).toEqual([]);
    expect(nowA.traits).toEqual({ name: 'Jo', plan: 'pro', email: 'jo@example.com' });
    const thenA = await view(a, `asOf=${encodeURIComponent(at(6))}&knownAt=${between}`);
    expect(thenA.traits).toMatchObject({ plan: 'free', city: 'Lyon' });
    // The history keeps what was known: the merged value, superseded when the unmerge was recorded.
    const plan = (await t.get(`/v1/profiles/${a}/history?trait=plan`)).body.items;
    expect(plan.map((h: { value: string; supersededAt: string | null }) => [h.value, h.supersededAt !== null])).toEqual(
      expect.arrayContaining([
        ['free', true],
        ['pro', false],
      ]),
    );
  });

  it('takes along what was merged into the id split out, and rebuilds every profile that lost members', async () => {
    // c is created first, then b, then a: each merge keeps the older profile.
    await step(t, [{ type: 'identify', userId: 'uc', messageId: 'c', timestamp: at(1), traits: { tier: 'gold' } }]);
    await step(t, [
      { type: 'identify', anonymousId: 'bb', messageId: 'b', timestamp: at(2), traits: { city: 'Lyon' } },
    ]);
    await step(t, [{ type: 'identify', anonymousId: 'aa', messageId: 'a', timestamp: at(3), traits: { pet: 'cat' } }]);
    const [c, b, a] = [
      await idOf(t, 'user_id', 'uc'),
      await idOf(t, 'anonymous_id', 'bb'),
      await idOf(t, 'anonymous_id', 'aa'),
    ];
    const before = { b: await snapshot(t, b), a: await snapshot(t, a) };
    expect((await merge(t, [a, b])).ok).toBe(true); // a into b
    expect((await merge(t, [b, c])).ok).toBe(true); // b (with a) into c
    expect((await t.get(`/v1/profiles/${c}`)).body.traits).toEqual({ tier: 'gold', city: 'Lyon', pet: 'cat' });

    // Splitting b takes a along: b's part is b and a, as before it was merged into c.
    const res = await unmerge(c, [b]);
    expect(res.body.parts).toEqual([
      { id: c, mergedIds: [] },
      { id: b, mergedIds: [a] },
    ]);
    expect((await t.get(`/v1/profiles/${c}`)).body.traits).toEqual({ tier: 'gold' });
    expect((await t.get(`/v1/profiles/${b}`)).body.traits).toEqual({ city: 'Lyon', pet: 'cat' });
    expect(await idOf(t, 'anonymous_id', 'aa')).toBe(b);

    // Then a out of b: b is rebuilt without a's traits.
    expect((await unmerge(b, [a])).status).toBe(200);
    expect(withoutUpdatedAt((await snapshot(t, b)).view)).toEqual(withoutUpdatedAt(before.b.view));
    expect(await snapshot(t, a)).toEqual(before.a);
  });

  it('cuts an id in the middle of a chain: the survivor keeps the rest', async () => {
    await step(t, [{ type: 'identify', userId: 'uc', messageId: 'c', timestamp: at(1), traits: { tier: 'gold' } }]);
    await step(t, [
      { type: 'identify', anonymousId: 'bb', messageId: 'b', timestamp: at(2), traits: { city: 'Lyon' } },
    ]);
    await step(t, [{ type: 'identify', anonymousId: 'aa', messageId: 'a', timestamp: at(3), traits: { pet: 'cat' } }]);
    const [c, b, a] = [
      await idOf(t, 'user_id', 'uc'),
      await idOf(t, 'anonymous_id', 'bb'),
      await idOf(t, 'anonymous_id', 'aa'),
    ];
    await merge(t, [a, b]);
    await merge(t, [b, c]);
    const res = await unmerge(c, [a]);
    expect(res.body.parts).toEqual([
      { id: c, mergedIds: [b] },
      { id: a, mergedIds: [] },
    ]);
    expect((await t.get(`/v1/profiles/${c}`)).body.traits).toEqual({ tier: 'gold', city: 'Lyon' });
    expect((await t.get(`/v1/profiles/${a}`)).body.traits).toEqual({ pet: 'cat' });
    expect(await idOf(t, 'anonymous_id', 'bb')).toBe(c);
  });

  it('remembers the pair as rejected, and records the unmerge in the merges view', async () => {
    const { a, b } = await twoPeople();
    await merge(t, [a, b]);
    await unmerge(a, [b], 'not the same person');
    expect(await loadMatchDecisions(t.app.storage.identities, [bare(a), bare(b)])).toEqual([
      expect.objectContaining({ decision: 'rejected', origin: 'unmerge' }),
    ]);
    const merges = (await t.get(`/v1/profiles/${a}/merges`)).body;
    expect(merges.items).toEqual([expect.objectContaining({ mergedId: b, unmergedAt: expect.any(String) })]);
    expect(merges.unmerges).toEqual([expect.objectContaining({ profileId: b, reason: 'not the same person' })]);
    // The split part sees it too.
    expect((await t.get(`/v1/profiles/${b}/merges`)).body.unmerges).toHaveLength(1);
  });

  it('a later event linking both parts merges them again; the new merge can be undone in turn', async () => {
    const { a, b } = await twoPeople();
    await merge(t, [a, b]);
    await unmerge(a, [b]);
    await step(t, [{ type: 'identify', userId: 'u1', anonymousId: 'anon-1', messageId: 'ab', timestamp: at(30) }]);
    expect(await idOf(t, 'anonymous_id', 'anon-1')).toBe(a);
    const merges = (await t.get(`/v1/profiles/${a}/merges`)).body.items;
    expect(merges.map((m: { rule: string; unmergedAt: string | null }) => [m.rule, m.unmergedAt === null])).toEqual([
      ['probabilistic', false],
      ['deterministic', true],
    ]);
    expect((await unmerge(a, [b])).status).toBe(200);
    expect(await idOf(t, 'anonymous_id', 'anon-1')).toBe(b);
  });

  it.each([
    ['the survivor itself', async (a: string, _b: string) => [a], 409, 'not_merged'],
    ['a profile not merged into it', async (_a: string, b: string) => [b], 409, 'not_merged'],
    ['an id that is not a profile id', async () => ['prof_nope'], 400, 'invalid_request'],
    ['an empty list', async () => [], 400, 'invalid_request'],
  ])('refuses %s', async (_name, ids, status, code) => {
    const { a, b } = await twoPeople();
    const res = await unmerge(a, await ids(a, b));
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect((await t.get(`/v1/profiles/${a}/merges`)).body.unmerges).toEqual([]);
  });

  it('answers 404 for an unknown profile and 403 without the admin role', async () => {
    const { a, b } = await twoPeople();
    await merge(t, [a, b]);
    const unknown = await unmerge('prof_00000000-0000-7000-8000-000000000000', [b]);
    expect(unknown.status).toBe(404);
    const { token } = await t.app.tokens.create('marketer', ['marketer']);
    const res = await call(t, 'POST', `/v1/profiles/${a}/unmerge`, { profileIds: [b] }, token);
    expect(res.status).toBe(403);
    expect(await idOf(t, 'anonymous_id', 'anon-1')).toBe(a);
  });
});

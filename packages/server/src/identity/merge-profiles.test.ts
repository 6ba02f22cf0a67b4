import { fromPublicId } from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newUuid } from '../ids.js';
import { at, bare, idOf, merge, snapshot, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { DEFAULT_IDENTITY_RULES, IDENTITY_RULES_KEY, type IdentityRules } from './rules.js';

/**
 * `mergeProfiles`: merges that come from no event (the matcher's auto-merge, a review accept), under the limits
 * identity resolution applies to an event (DESIGN §4). A refused merge writes nothing.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const DAY = 86_400_000;

async function setRules(patch: Partial<IdentityRules>) {
  await t.app.storage.settings.put(IDENTITY_RULES_KEY, { ...DEFAULT_IDENTITY_RULES, ...patch }, 'test', Date.now());
}

/** A profile holding these identifiers (written straight to the store, to choose how many and when first seen). */
async function seed(identifiers: [string, string][], createdAt: number, firstSeenAt = createdAt): Promise<string> {
  const id = newUuid();
  await t.app.storage.profiles.create({ id, createdAt, updatedAt: createdAt, traits: {}, traitTimes: {} });
  const sourceId = fromPublicId('source', t.sourceId) as string;
  await t.app.storage.identities.link(
    identifiers.map(([type, value]) => ({
      type,
      value,
      profileId: id,
      sourceId,
      eventId: null,
      firstSeenAt,
      createdAt,
    })),
  );
  return `prof_${id}`;
}
const anonymous = (prefix: string, n: number): [string, string][] =>
  Array.from({ length: n }, (_, i) => ['anonymous_id', `${prefix}${i}`]);

/** Everything a merge writes, to check that a refused one wrote nothing. */
async function written(ids: string[]) {
  const s = t.app.storage;
  const bareIds = ids.map(bare);
  return {
    redirects: await s.identities.resolve(bareIds),
    merges: await s.identities.merges(bareIds),
    profiles: await s.profiles.get(bareIds),
    history: await s.history.all(bareIds),
    changes: await s.changes.lastSeq(),
  };
}

describe('mergeProfiles', () => {
  it('keeps the profile created first, redirects the others, records rule and evidence, rebuilds the record', async () => {
    await step(t, [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(1), traits: { plan: 'pro' } }]);
    await step(t, [
      { type: 'identify', anonymousId: 'x', messageId: 'm2', timestamp: at(5), traits: { plan: 'free', city: 'Oslo' } },
    ]);
    await step(t, [
      { type: 'identify', anonymousId: 'y', messageId: 'm3', timestamp: at(3), traits: { city: 'Rome' } },
    ]);
    const [a, b, c] = [
      await idOf(t, 'user_id', 'u1'),
      await idOf(t, 'anonymous_id', 'x'),
      await idOf(t, 'anonymous_id', 'y'),
    ];
    const seq = await t.app.storage.changes.lastSeq();
    const result = await merge(t, [c, b, a], {
      rule: 'probabilistic',
      evidence: { match: { probability: 0.97, weight: 9.1, fields: [] } },
    });
    expect(result).toEqual({
      ok: true,
      survivorId: bare(a),
      merged: [bare(b), bare(c)],
      changedTraits: ['city', 'plan'],
    });
    const view = (await snapshot(t, c)).view;
    expect(view.id).toBe(a);
    expect([...view.mergedIds].sort()).toEqual([b, c].sort());
    // The most recent observation of each trait wins, whichever profile it came from.
    expect(view.traits).toEqual({ plan: 'free', city: 'Oslo' });
    const merges = (await t.get(`/v1/profiles/${a}/merges`)).body.items;
    expect(merges).toEqual([
      expect.objectContaining({ survivorId: a, mergedId: b, rule: 'probabilistic', evidence: expect.any(Object) }),
      expect.objectContaining({ survivorId: a, mergedId: c, rule: 'probabilistic' }),
    ]);
    const changes = (await t.app.storage.changes.read('test', 1000)).filter((ch) => ch.seq > seq);
    expect(changes.map((ch) => ch.kind)).toEqual(['profile.merged', 'profile.merged', 'profile.traits_changed']);
  });

  it('gives the survivor the same golden record as a merge by an event would', async () => {
    const calls = [
      { type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(1), traits: { plan: 'pro', name: 'Jo' } },
      { type: 'identify', anonymousId: 'x', messageId: 'm2', timestamp: at(5), traits: { plan: 'free' } },
      { type: 'identify', userId: 'u1', messageId: 'm3', timestamp: at(7), traits: { name: 'Joanna' } },
      { type: 'identify', anonymousId: 'x', messageId: 'm4', timestamp: at(2), traits: { age: 41 } },
    ];
    for (const c of calls) await step(t, [c]);
    const a = await idOf(t, 'user_id', 'u1');
    await merge(t, [a, await idOf(t, 'anonymous_id', 'x')], { validAt: Date.parse(at(10)) });
    const byApi = (await t.get(`/v1/profiles/${a}`)).body.traits;

    const other = await createTestApp();
    try {
      for (const c of calls) {
        await other.send([c]);
        await other.app.drain();
      }
      await other.send([{ type: 'identify', userId: 'u1', anonymousId: 'x', messageId: 'm5', timestamp: at(10) }]);
      await other.app.drain();
      const byEvent = (await other.get('/v1/profiles/by/user_id/u1')).body.traits;
      expect(byApi).toEqual(byEvent);
      expect(byApi).toEqual({ plan: 'free', name: 'Joanna', age: 41 });
    } finally {
      await other.app.close();
    }
    // As of before the merge the survivor shows only its own values.
    const before = (await t.get(`/v1/profiles/${a}?asOf=${encodeURIComponent(at(9))}`)).body;
    expect(before.traits).toEqual({ plan: 'pro', name: 'Joanna' });
  });

  it('answers ok with nothing merged when the ids are one profile already (a merged id stands for its survivor)', async () => {
    await step(t, [{ type: 'identify', userId: 'u1', anonymousId: 'x', messageId: 'm1', timestamp: at(1) }]);
    await step(t, [{ type: 'track', anonymousId: 'y', messageId: 'm2', timestamp: at(2), event: 'Seen' }]);
    const a = await idOf(t, 'user_id', 'u1');
    const b = await idOf(t, 'anonymous_id', 'y');
    expect((await merge(t, [a, b])).ok).toBe(true);
    const state = await written([a, b]);
    expect(await merge(t, [b, a])).toEqual({ ok: true, survivorId: bare(a), merged: [], changedTraits: [] });
    expect(await written([a, b])).toEqual(state);
  });

  const NOW = Date.UTC(2026, 5, 1);
  it.each([
    {
      name: 'two user ids (limit 1)',
      setup: async () => [await seed([['user_id', 'u1']], NOW - 2 * DAY), await seed([['user_id', 'u2']], NOW - DAY)],
      reason: 'limit_exceeded',
      evidence: { violating: ['user_id'], counts: { user_id: { count: 2, limit: 1, held: 1 } } },
    },
    {
      name: '120 anonymous ids seen within 30 days (limit 100)',
      setup: async () => [await seed(anonymous('a', 60), NOW - 3 * DAY), await seed(anonymous('b', 60), NOW - 2 * DAY)],
      reason: 'limit_exceeded',
      evidence: { violating: ['anonymous_id'] },
    },
    {
      name: 'three profiles with maxProfilesPerMerge 2',
      rules: { maxProfilesPerMerge: 2 },
      setup: async () => [
        await seed([['email', 'a@example.com']], NOW - 3 * DAY),
        await seed([['email', 'b@example.com']], NOW - 2 * DAY),
        await seed([['email', 'c@example.com']], NOW - DAY),
      ],
      reason: 'max_profiles_per_merge',
      evidence: { profiles: 3, limit: 2 },
    },
    {
      name: 'five identifiers with maxIdentifiersPerProfile 4',
      rules: { maxIdentifiersPerProfile: 4 },
      setup: async () => [
        await seed(
          [
            ['email', 'a@example.com'],
            ['anonymous_id', 'x1'],
            ['anonymous_id', 'x2'],
          ],
          NOW - 2 * DAY,
        ),
        await seed(
          [
            ['email', 'b@example.com'],
            ['anonymous_id', 'y1'],
          ],
          NOW - DAY,
        ),
      ],
      reason: 'max_identifiers_per_profile',
      evidence: { identifiers: 5, limit: 4 },
    },
  ])('refuses $name and writes nothing', async ({ setup, reason, evidence, rules }) => {
    if (rules) await setRules(rules);
    const ids = await setup();
    const before = await written(ids);
    const result = await merge(t, ids, { now: NOW, validAt: NOW });
    expect(result).toEqual({ ok: false, reason, evidence: expect.objectContaining(evidence) });
    expect(result.ok === false && result.evidence.profileIds).toEqual(expect.arrayContaining(ids));
    expect(await written(ids)).toEqual(before);
  });

  it('counts windowed identifiers from the merge’s valid time: old anonymous ids do not count', async () => {
    const old = NOW - 60 * DAY;
    const ids = [await seed(anonymous('a', 60), old), await seed(anonymous('b', 60), old + DAY)];
    expect((await merge(t, ids, { now: NOW, validAt: NOW })).ok).toBe(true);
  });

  it('does not make a pre-existing excess a reason to refuse: the larger profile already held it', async () => {
    const ids = [await seed(anonymous('a', 120), NOW - 2 * DAY), await seed([['email', 'b@example.com']], NOW - DAY)];
    // 120 anonymous ids on one profile (a rule tightened since): joining adds none, so it is allowed.
    expect((await merge(t, ids, { now: NOW, validAt: NOW })).ok).toBe(true);
  });

  it('refuses an id that names no profile', async () => {
    const a = await seed([['email', 'a@example.com']], NOW);
    const missing = `prof_${newUuid()}`;
    expect(await merge(t, [a, missing])).toEqual({
      ok: false,
      reason: 'unknown_profile',
      evidence: { profileIds: [missing] },
    });
  });
});

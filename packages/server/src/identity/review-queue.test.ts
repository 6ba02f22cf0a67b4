import type { MatchEvidence } from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newUuid } from '../ids.js';
import { at, bare, call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { loadMatchDecisions } from './match-decisions.js';
import { openMatchReview } from './review-queue.js';
import { DEFAULT_IDENTITY_RULES, IDENTITY_RULES_KEY } from './rules.js';

/**
 * The review queue (DESIGN §4) as tables of decisions: a pair of the probabilistic matcher is opened as the matcher
 * does (`openMatchReview`), then decided through `POST /v1/identity/review/{id}/accept|reject`.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const MATCH: MatchEvidence = {
  probability: 0.71,
  weight: 3.2,
  fields: [
    { field: 'name', left: 'jo smith', right: 'joe smith', level: 'jaro_winkler>=0.92', weight: 4.1, counted: 4.1 },
    { field: 'city', left: 'lyon', right: null, level: 'missing', weight: 0, counted: 0 },
  ],
};

/** Two profiles from the pipeline: `u1` and an anonymous visitor, or (`conflict`) two known users. */
async function pair(conflict = false) {
  await step(t, [{ type: 'identify', userId: 'u1', messageId: 'a', timestamp: at(1), traits: { name: 'Jo Smith' } }]);
  await step(t, [
    conflict
      ? { type: 'identify', userId: 'u2', messageId: 'b', timestamp: at(2), traits: { name: 'Joe Smith' } }
      : { type: 'identify', anonymousId: 'x', messageId: 'b', timestamp: at(2), traits: { name: 'Joe Smith' } },
  ]);
  const left = await idOf(t, 'user_id', 'u1');
  const right = conflict ? await idOf(t, 'user_id', 'u2') : await idOf(t, 'anonymous_id', 'x');
  const row = await openMatchReview(t.app.storage.identities, {
    leftId: bare(left),
    rightId: bare(right),
    match: MATCH,
    reason: 'between_thresholds',
    now: Date.now(),
  });
  return { left, right, review: `rev_${row?.id}` };
}

/** Everything a decision may write. */
async function state(left: string, right: string) {
  const s = t.app.storage;
  const ids = [bare(left), bare(right)];
  return {
    survivors: await s.identities.resolve(ids),
    merges: await s.identities.merges(ids),
    profiles: await s.profiles.get(ids),
    history: await s.history.all(ids),
    decisions: await s.identities.matchDecisions(ids),
    changes: await s.changes.lastSeq(),
  };
}

type Action = 'accept' | 'reject';
interface Case {
  name: string;
  conflict?: boolean;
  steps: [Action, number, string?][];
  merged: boolean;
  status: 'open' | 'accepted' | 'rejected';
  remembered: 'accepted' | 'rejected' | null;
}

const CASES: Case[] = [
  {
    name: 'accept merges the pair',
    steps: [['accept', 200]],
    merged: true,
    status: 'accepted',
    remembered: 'accepted',
  },
  {
    name: 'reject is remembered as not a match',
    steps: [['reject', 200]],
    merged: false,
    status: 'rejected',
    remembered: 'rejected',
  },
  {
    name: 'a second accept is refused',
    steps: [
      ['accept', 200],
      ['accept', 409, 'review_decided'],
    ],
    merged: true,
    status: 'accepted',
    remembered: 'accepted',
  },
  {
    name: 'accept after reject is refused',
    steps: [
      ['reject', 200],
      ['accept', 409, 'review_decided'],
    ],
    merged: false,
    status: 'rejected',
    remembered: 'rejected',
  },
  {
    name: 'reject after accept is refused',
    steps: [
      ['accept', 200],
      ['reject', 409, 'review_decided'],
    ],
    merged: true,
    status: 'accepted',
    remembered: 'accepted',
  },
  {
    name: 'an accept that would join two user ids is refused and leaves the item open',
    conflict: true,
    steps: [['accept', 409, 'merge_refused']],
    merged: false,
    status: 'open',
    remembered: null,
  },
];

describe('review decisions', () => {
  it.each(CASES)('$name', async (c) => {
    const { left, right, review } = await pair(c.conflict);
    const before = await state(left, right);
    for (const [action, status, code] of c.steps) {
      const res = await call(t, 'POST', `/v1/identity/review/${review}/${action}`);
      expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(status);
      if (code) expect(res.body.error.code).toBe(code);
    }
    expect((await idOf(t, 'user_id', 'u1')) === (await t.get(`/v1/profiles/${right}`)).body.id).toBe(c.merged);
    const item = (await call(t, 'GET', `/v1/identity/review?status=${c.status}`)).body.items;
    expect(item).toEqual([expect.objectContaining({ id: review, status: c.status })]);
    if (c.status !== 'open') {
      expect(item[0].decidedBy).toMatch(/^tok_/);
      expect(Date.parse(item[0].decidedAt)).toBeGreaterThan(0);
    }
    const remembered = await loadMatchDecisions(t.app.storage.identities);
    expect(remembered.map((d) => d.decision)).toEqual(c.remembered && !c.merged ? [c.remembered] : []);
    if (c.merged) {
      // Now one profile: the decision is kept, but a pair of one profile is no pair any more.
      expect((await t.app.storage.identities.matchDecisions([bare(left)])).map((d) => d.decision)).toEqual([
        'accepted',
      ]);
      const merges = (await t.get(`/v1/profiles/${left}/merges`)).body.items;
      expect(merges).toEqual([
        expect.objectContaining({
          rule: 'review_accept',
          evidence: expect.objectContaining({
            reviewId: review,
            match: MATCH,
            decidedBy: expect.stringMatching(/^tok_/),
          }),
        }),
      ]);
    }
    if (c.status === 'open') expect(await state(left, right)).toEqual(before);
  });

  it('explains a refused accept: code, message and the violating type', async () => {
    const { review } = await pair(true);
    const res = await call(t, 'POST', `/v1/identity/review/${review}/accept`);
    expect(res.body.error).toMatchObject({
      code: 'merge_refused',
      message: 'merging these profiles would give one profile 2 user_id identifiers (limit 1); the item stays open',
      details: { reason: 'limit_exceeded', violating: ['user_id'] },
    });
  });

  it('answers 404 for an unknown item and 403 to a non-admin decision', async () => {
    const { review } = await pair();
    expect((await call(t, 'POST', '/v1/identity/review/rev_00000000-0000-7000-8000-000000000000/accept')).status).toBe(
      404,
    );
    expect((await call(t, 'POST', '/v1/identity/review/nope/reject')).status).toBe(404);
    const { token } = await t.app.tokens.create('analyst', ['analyst']);
    expect((await call(t, 'POST', `/v1/identity/review/${review}/accept`, undefined, token)).status).toBe(403);
    expect((await call(t, 'GET', '/v1/identity/review', undefined, token)).status).toBe(200);
  });
});

describe('review list', () => {
  it('shows both sides as they are now, the match and the per-field comparison', async () => {
    const { left, right, review } = await pair();
    const res = await call(t, 'GET', '/v1/identity/review');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        {
          id: review,
          kind: 'probabilistic_match',
          status: 'open',
          reason: 'between_thresholds',
          createdAt: expect.any(String),
          decidedAt: null,
          decidedBy: null,
          left: {
            id: left,
            survivorId: left,
            traits: { name: 'Jo Smith' },
            identities: [{ type: 'user_id', value: 'u1' }],
          },
          right: {
            id: right,
            survivorId: right,
            traits: { name: 'Joe Smith' },
            identities: [{ type: 'anonymous_id', value: 'x' }],
          },
          match: { probability: 0.71, weight: 3.2 },
          comparison: MATCH.fields,
          evidence: { leftId: left, rightId: right, match: MATCH },
        },
      ],
      nextCursor: null,
    });
  });

  it('lists and decides an item whose recorded match has another shape (another matcher version)', async () => {
    await step(t, [{ type: 'identify', userId: 'u1', messageId: 'a', timestamp: at(1) }]);
    await step(t, [{ type: 'identify', anonymousId: 'x', messageId: 'b', timestamp: at(2) }]);
    const [left, right] = [await idOf(t, 'user_id', 'u1'), await idOf(t, 'anonymous_id', 'x')];
    const id = newUuid();
    await t.app.storage.identities.addReview({
      id,
      kind: 'probabilistic_match',
      status: 'open',
      reason: 'between_thresholds',
      evidence: { leftId: bare(left), rightId: bare(right), match: { score: 0.7, fields: [{ field: 'name' }] } },
      profileId: bare(left),
      createdAt: Date.now(),
    });
    const item = (await call(t, 'GET', '/v1/identity/review')).body.items[0];
    expect(item).toMatchObject({
      id: `rev_${id}`,
      match: null,
      comparison: [],
      left: { id: left },
      right: { id: right },
    });
    const res = await call(t, 'POST', `/v1/identity/review/rev_${id}/accept`);
    expect(res.status).toBe(200);
    expect(res.body.merge).toEqual({ survivorId: left, mergedIds: [right] });
  });

  it('opens one item per pair, pages by cursor and filters by status', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      await step(t, [{ type: 'identify', userId: `u${n}`, messageId: `m${n}`, timestamp: at(n) }]);
      ids.push(bare(await idOf(t, 'user_id', `u${n}`)));
    }
    const open = (l: string, r: string) =>
      openMatchReview(t.app.storage.identities, { leftId: l, rightId: r, match: MATCH, reason: 'r', now: 1 });
    expect(await open(ids[0], ids[1])).toBeDefined();
    expect(await open(ids[1], ids[0])).toBeUndefined();
    expect(await open(ids[0], ids[2])).toBeDefined();
    expect(await open(ids[1], ids[2])).toBeDefined();
    const first = await call(t, 'GET', '/v1/identity/review?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await call(t, 'GET', `/v1/identity/review?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    await call(t, 'POST', `/v1/identity/review/${second.body.items[0].id}/reject`);
    expect((await call(t, 'GET', '/v1/identity/review')).body.items).toHaveLength(2);
    expect((await call(t, 'GET', '/v1/identity/review?status=rejected')).body.items).toHaveLength(1);
    expect((await call(t, 'GET', '/v1/identity/review?status=accepted')).body.items).toHaveLength(0);
    expect((await call(t, 'GET', '/v1/identity/review?status=closed')).status).toBe(400);
  });
});

describe('identity_guard items', () => {
  it('list with the profiles the guard kept apart, and accepting one acknowledges it without a merge', async () => {
    await t.app.storage.settings.put(
      IDENTITY_RULES_KEY,
      { ...DEFAULT_IDENTITY_RULES, maxProfilesPerMerge: 2 },
      'test',
      Date.now(),
    );
    await step(t, [{ type: 'track', anonymousId: 'x', messageId: 'm1', timestamp: at(1), event: 'Seen' }]);
    await step(t, [
      { type: 'identify', anonymousId: 'y', messageId: 'm2', timestamp: at(2), traits: { email: 'e@example.com' } },
    ]);
    await step(t, [
      { type: 'identify', anonymousId: 'z', messageId: 'm3', timestamp: at(3), traits: { phone: '+14155550100' } },
    ]);
    // One event naming all three: more than maxProfilesPerMerge, so a guard keeps them apart and opens an item.
    await step(t, [
      {
        type: 'identify',
        anonymousId: 'x',
        messageId: 'm4',
        timestamp: at(4),
        traits: { email: 'e@example.com', phone: '+14155550100' },
      },
    ]);
    const ids = [
      await idOf(t, 'anonymous_id', 'x'),
      await idOf(t, 'anonymous_id', 'y'),
      await idOf(t, 'anonymous_id', 'z'),
    ];
    expect(new Set(ids).size).toBe(3);
    const list = (await call(t, 'GET', '/v1/identity/review')).body.items;
    expect(list).toEqual([
      expect.objectContaining({
        kind: 'identity_guard',
        reason: 'max_profiles_per_merge',
        left: expect.objectContaining({ id: expect.any(String) }),
        right: expect.objectContaining({ id: expect.any(String) }),
        comparison: [],
        match: null,
        evidence: expect.objectContaining({ eventId: expect.stringMatching(/^evt_/) }),
      }),
    ]);
    expect(ids).toContain(list[0].left.id);
    expect(ids).toContain(list[0].right.id);
    const seq = await t.app.storage.changes.lastSeq();
    const res = await call(t, 'POST', `/v1/identity/review/${list[0].id}/accept`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      item: { status: 'accepted', decidedBy: expect.stringMatching(/^tok_/) },
      merge: null,
    });
    expect(await t.app.storage.changes.lastSeq()).toBe(seq);
    expect(
      new Set([
        await idOf(t, 'anonymous_id', 'x'),
        await idOf(t, 'anonymous_id', 'y'),
        await idOf(t, 'anonymous_id', 'z'),
      ]).size,
    ).toBe(3);
    expect((await call(t, 'POST', `/v1/identity/review/${list[0].id}/reject`)).body.error.code).toBe('review_decided');
  });
});

import type { MatchEvidence } from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { at, bare, call, idOf, merge, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { openMatchReview } from './review-queue.js';

/** `GET /v1/profiles/{id}/explain`: the evidence graph of a profile (DESIGN §4: every merge with its evidence). */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const MATCH: MatchEvidence = {
  probability: 0.96,
  weight: 8.5,
  fields: [
    { field: 'name', left: 'ann lee', right: 'anne lee', level: 'jaro_winkler>=0.92', weight: 5.2, counted: 5.2 },
    { field: 'dob', left: '1980-02-03', right: '1980-02-03', level: 'exact', weight: 6.1, counted: 6.1 },
  ],
};

describe('explain', () => {
  it('shows each id with its identifiers, and each merge with its rule and evidence', async () => {
    await step(t, [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(1), traits: { name: 'Ann Lee' } }]);
    await step(t, [{ type: 'page', anonymousId: 'web-1', messageId: 'm2', timestamp: at(2), name: 'Home' }]);
    await step(t, [
      { type: 'identify', anonymousId: 'crm-9', messageId: 'm3', timestamp: at(3), traits: { name: 'Anne Lee' } },
    ]);
    await step(t, [{ type: 'identify', anonymousId: 'shop-4', messageId: 'm4', timestamp: at(4) }]);
    const [u, web, crm, shop] = [
      await idOf(t, 'user_id', 'u1'),
      await idOf(t, 'anonymous_id', 'web-1'),
      await idOf(t, 'anonymous_id', 'crm-9'),
      await idOf(t, 'anonymous_id', 'shop-4'),
    ];
    // Deterministic: web-1 logs in as u1 (with a blocked e-mail, recorded as a decision).
    await step(t, [
      {
        type: 'identify',
        userId: 'u1',
        anonymousId: 'web-1',
        messageId: 'login',
        timestamp: at(10),
        traits: { email: 'test@test.com' },
      },
    ]);
    // Probabilistic: the matcher's auto-merge.
    expect((await merge(t, [u, crm], { rule: 'probabilistic', evidence: { match: MATCH } })).ok).toBe(true);
    // Review: a pair accepted by a person.
    const row = await openMatchReview(t.app.storage.identities, {
      leftId: bare(u),
      rightId: bare(shop),
      match: { ...MATCH, probability: 0.6 },
      reason: 'between_thresholds',
      now: Date.now(),
    });
    expect((await call(t, 'POST', `/v1/identity/review/rev_${row?.id}/accept`)).status).toBe(200);

    const res = await call(t, 'GET', `/v1/profiles/${crm}/explain`);
    expect(res.status).toBe(200);
    const g = res.body;
    expect(g.profileId).toBe(u);
    expect(g.nodes.map((n: { id: string }) => n.id).sort()).toEqual([u, web, crm, shop].sort());
    const node = (id: string) => g.nodes.find((n: { id: string }) => n.id === id);
    expect(node(web)).toMatchObject({
      survivorId: u,
      inFamily: true,
      identifiers: [{ type: 'anonymous_id', value: 'web-1', sourceId: t.sourceId, firstSeenAt: at(2) }],
    });
    const edge = (from: string) => g.edges.find((e: { from: string }) => e.from === from);
    expect(edge(web)).toMatchObject({
      to: u,
      rule: 'deterministic',
      validAt: at(10),
      eventId: expect.stringMatching(/^evt_/),
      linkedBy: expect.arrayContaining([
        { type: 'user_id', value: 'u1', profileId: u },
        { type: 'anonymous_id', value: 'web-1', profileId: web },
      ]),
      match: null,
      unmerged: null,
    });
    expect(edge(crm)).toMatchObject({ to: u, rule: 'probabilistic', linkedBy: null, match: MATCH, eventId: null });
    expect(edge(crm).match.fields.map((f: { field: string; weight: number }) => [f.field, f.weight])).toEqual([
      ['name', 5.2],
      ['dob', 6.1],
    ]);
    expect(edge(shop)).toMatchObject({
      rule: 'review_accept',
      match: { ...MATCH, probability: 0.6 },
      evidence: expect.objectContaining({ reviewId: `rev_${row?.id}` }),
    });
    expect(g.decisions).toEqual([
      expect.objectContaining({
        kind: 'blocked',
        reason: 'blocked_value',
        identifier: { type: 'email', value: 'test@test.com' },
      }),
    ]);
    expect(g.unmerges).toEqual([]);
  });

  it('shows an unmerge on its edge, and the part split out as a node outside the family', async () => {
    await step(t, [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(1) }]);
    await step(t, [{ type: 'identify', anonymousId: 'x', messageId: 'm2', timestamp: at(2) }]);
    const [a, b] = [await idOf(t, 'user_id', 'u1'), await idOf(t, 'anonymous_id', 'x')];
    await merge(t, [a, b], { evidence: { match: MATCH } });
    const res = await call(t, 'POST', `/v1/profiles/${a}/unmerge`, { profileIds: [b], reason: 'shared device' });
    const unmergeId = res.body.unmerges[0].id;
    for (const [asked, other, survivor] of [
      [a, b, a],
      [b, a, b],
    ]) {
      const g = (await call(t, 'GET', `/v1/profiles/${asked}/explain`)).body;
      expect(g.profileId).toBe(survivor);
      expect(g.nodes.find((n: { id: string }) => n.id === other)).toMatchObject({ inFamily: false, survivorId: other });
      expect(g.edges).toEqual([
        expect.objectContaining({
          from: b,
          to: a,
          unmerged: {
            id: unmergeId,
            unmergedAt: expect.any(String),
            decidedBy: expect.stringMatching(/^tok_/),
            reason: 'shared device',
          },
        }),
      ]);
      expect(g.unmerges).toEqual([expect.objectContaining({ id: unmergeId, profileId: b, survivorId: a })]);
    }
  });

  it('answers 404 for an unknown profile', async () => {
    expect((await call(t, 'GET', '/v1/profiles/prof_00000000-0000-7000-8000-000000000000/explain')).status).toBe(404);
  });
});

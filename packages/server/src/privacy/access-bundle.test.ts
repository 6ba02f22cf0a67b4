import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PERSON_OWNED_TABLES } from '../storage/schema.js';
import { at, bare, call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { type AccessBundle, buildAccessBundle, bundleCoverage } from './access-bundle.js';

/**
 * The access request (DESIGN §8, issue 7): a person built through the real pipeline (two devices joined by a
 * login, consents, an account, a purchase, an audience, a delivery, a refused call) and their bundle compared with
 * a hand-written expectation; another person's data never in it; every person-owned table covered.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const NOW = Date.UTC(2026, 0, 2);
/** A generated id of that kind. */
const anyId = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}_[0-9a-f-]{36}$`));
/** A time the server's clock gave (receive, record, processing time). */
const clockTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** An audience and a destination whose purpose (analytics) the person refuses: a delivery skipped, no network. */
async function setUp() {
  const audience = await call(t, 'POST', '/v1/audiences', {
    key: 'adas',
    name: 'Adas',
    definition: { type: 'trait', key: 'name', compare: { op: 'equals', value: 'Ada' } },
  });
  expect(audience.status, JSON.stringify(audience.body)).toBe(201);
  const hook = await call(t, 'POST', '/v1/destinations', {
    name: 'Analytics hook',
    type: 'webhook',
    config: { url: 'http://127.0.0.1:1/hook', secret: 'a-webhook-secret-of-some-length' },
    subscription: { events: { names: ['Order Completed'] } },
    purpose: 'analytics',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  return { destinationId: hook.body.id as string };
}

/**
 * Ada: two page views on device 1, a login there (user id, e-mail, phone, consents) and a refused call; a page view
 * on device 2 (a profile of its own), a login there (merged), an account, a purchase. Returns her profile ids.
 */
async function ada() {
  await step(t, [
    { type: 'page', anonymousId: 'dev-1', messageId: 'p-1', timestamp: at(1), name: 'Home' },
    {
      type: 'page',
      anonymousId: 'dev-1',
      messageId: 'p-2',
      timestamp: at(2),
      name: 'Pricing',
      properties: { path: '/pricing' },
    },
    {
      type: 'identify',
      anonymousId: 'dev-1',
      userId: 'u-42',
      messageId: 'i-1',
      timestamp: at(3),
      traits: { name: 'Ada', email: 'Ada@Example.com', phone: '+33 6 12 34 56 78' },
      context: { consent: { categoryPreferences: { marketing: true, analytics: false } } },
    },
    { type: 'track', userId: 'u-42', messageId: 'q-1', timestamp: 'yesterday', event: 'Viewed' },
  ]);
  await step(t, [{ type: 'page', anonymousId: 'dev-2', messageId: 'p-3', timestamp: at(4), name: 'Home' }]);
  const device2 = await idOf(t, 'anonymous_id', 'dev-2');
  await step(t, [
    { type: 'identify', anonymousId: 'dev-2', userId: 'u-42', messageId: 'i-2', timestamp: at(5) },
    {
      type: 'group',
      userId: 'u-42',
      groupId: 'acme',
      messageId: 'g-1',
      timestamp: at(6),
      traits: { name: 'Acme', plan: 'enterprise' },
    },
    {
      type: 'track',
      userId: 'u-42',
      anonymousId: 'dev-2',
      messageId: 't-1',
      timestamp: at(7),
      event: 'Order Completed',
      properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' },
    },
  ]);
  return { survivor: await idOf(t, 'user_id', 'u-42'), device2 };
}

/** Bob: another person on the same source, with a refused call of his own. */
async function bob() {
  await step(t, [
    { type: 'page', anonymousId: 'dev-9', messageId: 'bob-p', timestamp: at(2), name: 'Home' },
    {
      type: 'identify',
      anonymousId: 'dev-9',
      userId: 'u-7',
      messageId: 'bob-i',
      timestamp: at(3),
      traits: { name: 'Bob', email: 'bob@example.com' },
      context: { consent: { categoryPreferences: { marketing: false } } },
    },
    {
      type: 'track',
      userId: 'u-7',
      messageId: 'bob-t',
      timestamp: at(4),
      event: 'Order Completed',
      properties: { orderId: 'o-9' },
    },
    { type: 'track', userId: 'u-7', messageId: 'bob-q', timestamp: 'tomorrow', event: 'Viewed' },
  ]);
  return idOf(t, 'user_id', 'u-7');
}

/** Event ids by message id, as the profile API gives them. */
async function eventIds(profileId: string): Promise<Record<string, string>> {
  const r = await t.get(`/v1/profiles/${profileId}/events?limit=100`);
  expect(r.status).toBe(200);
  return Object.fromEntries(r.body.items.map((e: { messageId: string; id: string }) => [e.messageId, e.id]));
}

describe('access bundle', () => {
  it('of a person with merges and consents matches the hand-written expectation', async () => {
    const { destinationId } = await setUp();
    const { survivor: A, device2: B } = await ada();
    const evt = await eventIds(A);
    const src = t.sourceId;
    const bundle = await buildAccessBundle(t.app.storage, bare(A), NOW);

    const page = (messageId: string, profileId: string, anonymousId: string, minute: number, name: string) => ({
      id: evt[messageId],
      type: 'page',
      name,
      messageId,
      timestamp: at(minute),
      receivedAt: clockTime,
      sourceId: src,
      profileId,
      userId: null,
      anonymousId,
      properties: {},
      traits: {},
      context: {},
    });
    const fromIdentify = { profileId: A, sourceId: src, eventId: evt['i-1'] };
    const expected: AccessBundle = {
      generatedAt: '2026-01-02T00:00:00.000Z',
      profile: {
        id: A,
        createdAt: clockTime,
        updatedAt: clockTime,
        traits: { name: 'Ada', email: 'Ada@Example.com', phone: '+33 6 12 34 56 78' },
        mergedIds: [B],
      },
      traitHistory: [
        ['email', 'Ada@Example.com'],
        ['name', 'Ada'],
        ['phone', '+33 6 12 34 56 78'],
      ].map(([trait, value]) => ({
        trait: trait as string,
        value,
        validFrom: at(3),
        validTo: null,
        recordedAt: clockTime,
        supersededAt: null,
        ...fromIdentify,
      })),
      identities: [
        { type: 'anonymous_id', value: 'dev-1', profileId: A, sourceId: src, eventId: evt['p-1'], firstSeenAt: at(1) },
        { type: 'anonymous_id', value: 'dev-2', profileId: B, sourceId: src, eventId: evt['p-3'], firstSeenAt: at(4) },
        { type: 'email', value: 'ada@example.com', firstSeenAt: at(3), ...fromIdentify },
        { type: 'phone', value: '+33612345678', firstSeenAt: at(3), ...fromIdentify },
        { type: 'user_id', value: 'u-42', firstSeenAt: at(3), ...fromIdentify },
      ],
      events: [
        {
          ...page('p-1', A, 'dev-1', 1, 'Home'),
          logPosition: 1,
          raw: {
            type: 'page',
            messageId: 'p-1',
            anonymousId: 'dev-1',
            timestamp: at(1),
            originalTimestamp: at(1),
            receivedAt: clockTime,
            name: 'Home',
          },
        },
        {
          ...page('p-2', A, 'dev-1', 2, 'Pricing'),
          properties: { path: '/pricing' },
          logPosition: 2,
          raw: {
            type: 'page',
            messageId: 'p-2',
            anonymousId: 'dev-1',
            timestamp: at(2),
            originalTimestamp: at(2),
            receivedAt: clockTime,
            name: 'Pricing',
            properties: { path: '/pricing' },
          },
        },
        {
          id: evt['i-1'],
          type: 'identify',
          messageId: 'i-1',
          timestamp: at(3),
          receivedAt: clockTime,
          sourceId: src,
          profileId: A,
          userId: 'u-42',
          anonymousId: 'dev-1',
          properties: {},
          traits: { name: 'Ada', email: 'Ada@Example.com', phone: '+33 6 12 34 56 78' },
          context: { consent: { categoryPreferences: { marketing: true, analytics: false } } },
          logPosition: 3,
          raw: {
            type: 'identify',
            messageId: 'i-1',
            userId: 'u-42',
            anonymousId: 'dev-1',
            timestamp: at(3),
            originalTimestamp: at(3),
            receivedAt: clockTime,
            traits: { name: 'Ada', email: 'Ada@Example.com', phone: '+33 6 12 34 56 78' },
            context: { consent: { categoryPreferences: { marketing: true, analytics: false } } },
          },
        },
        {
          // Stored under device 2's own profile (stored rows are never re-keyed by a merge); position 4 is q-1.
          ...page('p-3', B, 'dev-2', 4, 'Home'),
          logPosition: 5,
          raw: {
            type: 'page',
            messageId: 'p-3',
            anonymousId: 'dev-2',
            timestamp: at(4),
            originalTimestamp: at(4),
            receivedAt: clockTime,
            name: 'Home',
          },
        },
        {
          id: evt['i-2'],
          type: 'identify',
          messageId: 'i-2',
          timestamp: at(5),
          receivedAt: clockTime,
          sourceId: src,
          profileId: A,
          userId: 'u-42',
          anonymousId: 'dev-2',
          properties: {},
          traits: {},
          context: {},
          logPosition: 6,
          raw: {
            type: 'identify',
            messageId: 'i-2',
            userId: 'u-42',
            anonymousId: 'dev-2',
            timestamp: at(5),
            originalTimestamp: at(5),
            receivedAt: clockTime,
          },
        },
        {
          id: evt['g-1'],
          type: 'group',
          messageId: 'g-1',
          timestamp: at(6),
          receivedAt: clockTime,
          sourceId: src,
          profileId: A,
          userId: 'u-42',
          anonymousId: null,
          properties: {},
          traits: { name: 'Acme', plan: 'enterprise' },
          context: {},
          logPosition: 7,
          raw: {
            type: 'group',
            messageId: 'g-1',
            userId: 'u-42',
            groupId: 'acme',
            timestamp: at(6),
            originalTimestamp: at(6),
            receivedAt: clockTime,
            traits: { name: 'Acme', plan: 'enterprise' },
          },
        },
        {
          id: evt['t-1'],
          type: 'track',
          event: 'Order Completed',
          messageId: 't-1',
          timestamp: at(7),
          receivedAt: clockTime,
          sourceId: src,
          profileId: A,
          userId: 'u-42',
          anonymousId: 'dev-2',
          properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' },
          traits: {},
          context: {},
          logPosition: 8,
          raw: {
            type: 'track',
            messageId: 't-1',
            userId: 'u-42',
            anonymousId: 'dev-2',
            timestamp: at(7),
            originalTimestamp: at(7),
            receivedAt: clockTime,
            event: 'Order Completed',
            properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' },
          },
        },
      ],
      quarantine: [
        {
          id: anyId('qua'),
          sourceId: src,
          receivedAt: clockTime,
          code: 'invalid_timestamp',
          reason: 'timestamp: Expected an ISO 8601 date-time',
          messageId: 'q-1',
          status: 'open',
          replayedAt: null,
          payload: { type: 'track', userId: 'u-42', messageId: 'q-1', timestamp: 'yesterday', event: 'Viewed' },
        },
      ],
      consents: [
        { purpose: 'analytics', granted: false },
        { purpose: 'marketing', granted: true },
      ].map((c) => ({
        ...c,
        legalBasis: 'consent',
        validFrom: at(3),
        recordedAt: clockTime,
        supersededAt: null,
        ...fromIdentify,
      })),
      accounts: [
        {
          id: anyId('acct'),
          groupId: 'acme',
          traits: { name: 'Acme', plan: 'enterprise' },
          linkedAt: clockTime,
          updatedAt: clockTime,
        },
      ],
      audiences: [
        {
          audience: 'adas',
          profileId: A,
          enteredAt: clockTime,
          enteredVersion: 1,
          exitedAt: null,
          exitedVersion: null,
          exitReason: null,
        },
      ],
      merges: [
        {
          id: anyId('mrg'),
          survivorId: A,
          mergedId: B,
          mergedAt: clockTime,
          validAt: at(5),
          rule: 'deterministic',
          evidence: {
            messageId: 'i-2',
            linkedBy: [
              { type: 'user_id', value: 'u-42', profileId: A },
              { type: 'anonymous_id', value: 'dev-2', profileId: B },
            ],
          },
          settingsVersion: 0,
          unmergedAt: null,
        },
      ],
      unmerges: [],
      identityDecisions: [],
      reviews: [],
      matchDecisions: [],
      deliveries: [
        {
          id: anyId('dlv'),
          destinationId,
          profileId: A,
          kind: 'event',
          status: 'skipped',
          reason: 'no consent for purpose analytics',
          attempts: 0,
          createdAt: clockTime,
          finishedAt: clockTime,
          message: {
            id: anyId('dlv'),
            kind: 'event',
            profileId: A,
            at: clockTime,
            identifiers: { anonymousId: 'dev-2', email: 'ada@example.com', phone: '+33612345678', userId: 'u-42' },
            traits: { name: 'Ada', email: 'Ada@Example.com', phone: '+33 6 12 34 56 78' },
            event: {
              id: evt['t-1'],
              type: 'track',
              name: 'Order Completed',
              messageId: 't-1',
              timestamp: at(7),
              properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' },
              traits: null,
              context: null,
            },
          },
        },
      ],
      messages: [],
      rfm: [],
      changes: [
        // Batch 1: device 1's profile, its events, the login's identifiers, traits, consents; the audience.
        [A, 'profile.created'],
        [A, 'identities.linked'],
        [A, 'event.stored'],
        [A, 'event.stored'],
        [A, 'identities.linked'],
        [A, 'profile.traits_changed'],
        [A, 'consent.changed'],
        [A, 'event.stored'],
        [A, 'audience.entered'],
        // Batch 2: device 2's own profile.
        [B, 'profile.created'],
        [B, 'identities.linked'],
        [B, 'event.stored'],
        // Batch 3: the merge, the account, the purchase.
        [A, 'profile.merged'],
        [A, 'event.stored'],
        [A, 'account.linked'],
        [A, 'event.stored'],
        [A, 'event.stored'],
      ].map(([profileId, kind]) => ({
        id: anyId('chg'),
        kind: kind as string,
        profileId: profileId as string,
        createdAt: clockTime,
      })),
    };
    expect(bundle).toEqual(expected);
    // The same bundle from the merged id: it answers with its survivor.
    expect(await buildAccessBundle(t.app.storage, bare(B), NOW)).toEqual(bundle);
  });

  it("never holds another person's data, either way", async () => {
    await setUp();
    const { survivor: A, device2 } = await ada();
    const B = await bob();
    const adaText = JSON.stringify(await buildAccessBundle(t.app.storage, bare(A), NOW));
    const bobText = JSON.stringify(await buildAccessBundle(t.app.storage, bare(B), NOW));
    for (const bobs of [B, 'u-7', 'dev-9', 'bob@example.com', 'Bob', 'bob-p', 'bob-i', 'bob-t', 'bob-q', 'o-9'])
      expect(adaText).not.toContain(bobs);
    for (const adas of [A, device2, 'u-42', 'dev-1', 'dev-2', 'ada@example.com', 'Ada', 'q-1', 'acme', 'o-1'])
      expect(bobText).not.toContain(adas);
    // Bob's own bundle does hold his refused call.
    expect(JSON.parse(bobText).quarantine.map((q: { messageId: string }) => q.messageId)).toEqual(['bob-q']);
  });

  it('covers every person-owned table: each names the section reporting it, or why none does', async () => {
    await step(t, [{ type: 'identify', userId: 'u-1', messageId: 'm-1', timestamp: at(1) }]);
    const bundle = await buildAccessBundle(t.app.storage, bare(await idOf(t, 'user_id', 'u-1')), NOW);
    expect(Object.keys(bundleCoverage).sort()).toEqual([...PERSON_OWNED_TABLES].sort());
    for (const [table, where] of Object.entries(bundleCoverage)) {
      if (where.startsWith('not reported: ')) expect(where.length, table).toBeGreaterThan(30);
      else expect(Object.keys(bundle), `${table}: ${where}`).toContain(where.match(/^[A-Za-z]+/)?.[0]);
    }
  });
});

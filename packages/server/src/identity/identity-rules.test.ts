import { fromPublicId } from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { DEFAULT_IDENTITY_RULES, IDENTITY_RULES_KEY, type IdentityRules } from './rules.js';

/**
 * Identity resolution rules (DESIGN §4) as a table of steps (STYLE #12): each step is a batch of calls sent through
 * `/v1/batch` and processed by the pipeline, or a function run between batches (settings, hand-built rows); then the
 * case's expectations read the result through the profile API.
 */

type Call = Record<string, unknown>;
type Step = Call[] | ((t: TestApp) => Promise<void>);
interface Case {
  name: string;
  steps: Step[];
  expect: (t: TestApp) => Promise<void>;
}

const BASE = Date.UTC(2026, 0, 1, 12, 0);
/** Event time `min` minutes after the base time. */
const at = (min: number) => new Date(BASE + min * 60_000).toISOString();
/** Event time `d` days (and `min` minutes) after the base time. */
const day = (d: number, min = 0) => new Date(BASE + d * 86_400_000 + min * 60_000).toISOString();

async function profileBy(t: TestApp, type: string, value: string) {
  const r = await t.get(`/v1/profiles/by/${type}/${encodeURIComponent(value)}`);
  expect(r.status, `profile by ${type} ${value}`).toBe(200);
  return r.body;
}
async function noProfileBy(t: TestApp, type: string, value: string) {
  const r = await t.get(`/v1/profiles/by/${type}/${encodeURIComponent(value)}`);
  expect(r.status, `profile by ${type} ${value}`).toBe(404);
  expect(r.body.error.code).toBe('not_found');
}
/** Shapes of the API answers read here (DESIGN §9). */
interface MergeItem {
  id: string;
  survivorId: string;
  mergedId: string;
  mergedAt: string;
  rule: string;
  evidence: { messageId?: string; linkedBy: { type: string; value: string; profileId: string }[] };
  settingsVersion: number;
}
interface DecisionItem {
  kind: string;
  identifier: { type: string; value: string } | null;
  reason: string;
  evidence: Record<string, unknown>;
  settingsVersion: number;
}
interface EventItem {
  id: string;
  messageId: string;
  profileId: string;
}
interface AccountItem {
  id: string;
  groupId: string;
  traits: Record<string, unknown>;
}

async function mergesOf(t: TestApp, id: string): Promise<{ items: MergeItem[]; decisions: DecisionItem[] }> {
  const r = await t.get(`/v1/profiles/${id}/merges`);
  expect(r.status).toBe(200);
  return r.body;
}
/** The profile id an event was stored under (never rewritten). */
function storedUnder(events: EventItem[], messageId: string): string {
  const e = events.find((x) => x.messageId === messageId);
  expect(e, `event ${messageId}`).toBeDefined();
  return (e as EventItem).profileId;
}
async function eventsOf(t: TestApp, id: string): Promise<EventItem[]> {
  const r = await t.get(`/v1/profiles/${id}/events?limit=1000`);
  expect(r.status).toBe(200);
  return r.body.items;
}
async function accountsOf(t: TestApp, id: string): Promise<AccountItem[]> {
  const r = await t.get(`/v1/profiles/${id}/accounts`);
  expect(r.status).toBe(200);
  return r.body.items;
}
const typesOf = (p: { identities: { type: string; value: string }[] }, type: string) =>
  p.identities.filter((i) => i.type === type).map((i) => i.value);

function setRules(patch: Partial<IdentityRules>): Step {
  return async (t) => {
    await t.app.storage.settings.put(IDENTITY_RULES_KEY, { ...DEFAULT_IDENTITY_RULES, ...patch }, 'test', Date.now());
  };
}

/** A profile and its identifiers written straight to the store (to choose ids and creation times). */
function seedProfile(id: string, createdAt: number, identifiers: [string, string][]): Step {
  return async (t) => {
    await t.app.storage.profiles.create({ id, createdAt, updatedAt: createdAt, traits: {}, traitTimes: {} });
    await t.app.storage.identities.link(
      identifiers.map(([type, value]) => ({
        type,
        value,
        profileId: id,
        sourceId: fromPublicId('source', t.sourceId) as string,
        eventId: null,
        firstSeenAt: createdAt,
        createdAt,
      })),
    );
  };
}

const HIGH_ID = 'ffffffff-ffff-7fff-bfff-ffffffffffff';
const LOW_ID = '00000000-0000-7000-8000-000000000001';

/** u1 visits from 100 anonymous ids on day 0 (the anonymous_id limit, DESIGN §4 defaults). */
const hundredVisits: Call[] = Array.from({ length: 100 }, (_, i) => ({
  type: 'track',
  event: 'Visit',
  userId: 'u1',
  anonymousId: `a${i}`,
  messageId: `visit-${i}`,
  timestamp: day(0, i),
}));

const cases: Case[] = [
  // ── Normalisation ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'normalisation: an e-mail is trimmed and lower-cased before storage and look-up',
    steps: [
      [
        {
          type: 'identify',
          userId: 'u1',
          messageId: 'm1',
          timestamp: at(0),
          traits: { email: '  Jane.Doe@Example.COM ' },
        },
      ],
      [
        {
          type: 'track',
          anonymousId: 'a2',
          messageId: 'm2',
          timestamp: at(1),
          event: 'X',
          context: { traits: { email: 'JANE.DOE@EXAMPLE.COM' } },
        },
      ],
    ],
    async expect(t) {
      const p = await profileBy(t, 'email', 'jane.doe@example.com');
      expect(typesOf(p, 'email')).toEqual(['jane.doe@example.com']);
      expect(typesOf(p, 'user_id')).toEqual(['u1']);
      // The second spelling joined the same profile.
      expect(typesOf(p, 'anonymous_id')).toEqual(['a2']);
      expect((await profileBy(t, 'email', ' JANE.doe@example.com')).id).toBe(p.id);
    },
  },
  {
    name: 'normalisation: a national phone number becomes E.164 with the default region (US)',
    steps: [
      [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0), traits: { phone: '(650) 253-0000' } }],
      [
        {
          type: 'track',
          anonymousId: 'a2',
          messageId: 'm2',
          timestamp: at(1),
          event: 'X',
          context: { traits: { phone: '+1 650-253-0000' } },
        },
      ],
    ],
    async expect(t) {
      const p = await profileBy(t, 'phone', '+16502530000');
      expect(typesOf(p, 'phone')).toEqual(['+16502530000']);
      expect(typesOf(p, 'anonymous_id')).toEqual(['a2']);
      expect((await profileBy(t, 'phone', '650 253 0000')).id).toBe(p.id);
    },
  },
  {
    name: 'normalisation: an international phone number keeps its country code',
    steps: [
      [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0), traits: { phone: '+44 20 7183 8750' } }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(typesOf(p, 'phone')).toEqual(['+442071838750']);
    },
  },
  {
    name: 'normalisation: a wallet address is lower-cased',
    steps: [
      [
        {
          type: 'track',
          userId: 'u1',
          messageId: 'm1',
          timestamp: at(0),
          event: 'X',
          context: { traits: { wallet: '0xAbCdEf0123456789ABCDEF' } },
        },
      ],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(typesOf(p, 'wallet')).toEqual(['0xabcdef0123456789abcdef']);
    },
  },
  {
    name: 'normalisation: an invalid phone is dropped and recorded as a decision',
    steps: [[{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0), traits: { phone: '12345' } }]],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(p.identities).toEqual([{ type: 'user_id', value: 'u1' }]);
      const { decisions } = await mergesOf(t, p.id);
      expect(decisions).toMatchObject([
        {
          kind: 'blocked',
          identifier: { type: 'phone', value: '12345' },
          reason: 'invalid_phone',
          evidence: { from: 'traits.phone' },
        },
      ]);
    },
  },
  {
    name: 'normalisation: an invalid e-mail is dropped and recorded as a decision',
    steps: [
      [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0), traits: { email: 'jane.example.com' } }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(p.identities).toEqual([{ type: 'user_id', value: 'u1' }]);
      await noProfileBy(t, 'email', 'jane.example.com');
      const { decisions } = await mergesOf(t, p.id);
      expect(decisions).toMatchObject([
        { kind: 'blocked', identifier: { type: 'email', value: 'jane.example.com' }, reason: 'invalid_email' },
      ]);
    },
  },

  // ── Blocked values ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'blocked: userId "null" links nobody; two visitors sending it stay two profiles',
    steps: [
      [
        { type: 'track', userId: 'null', anonymousId: 'a1', messageId: 'm1', timestamp: at(0), event: 'X' },
        { type: 'track', userId: 'null', anonymousId: 'a2', messageId: 'm2', timestamp: at(1), event: 'X' },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'anonymous_id', 'a1');
      const p2 = await profileBy(t, 'anonymous_id', 'a2');
      expect(p1.id).not.toBe(p2.id);
      expect(p1.identities).toEqual([{ type: 'anonymous_id', value: 'a1' }]);
      await noProfileBy(t, 'user_id', 'null');
      for (const p of [p1, p2]) {
        const { decisions } = await mergesOf(t, p.id);
        expect(decisions).toMatchObject([
          {
            kind: 'blocked',
            identifier: { type: 'user_id', value: 'null' },
            reason: 'blocked_value',
            evidence: { from: 'userId' },
          },
        ]);
      }
    },
  },
  {
    name: 'blocked: userId "Anonymous" is blocked case-insensitively',
    steps: [[{ type: 'track', userId: 'Anonymous', anonymousId: 'a1', messageId: 'm1', timestamp: at(0), event: 'X' }]],
    async expect(t) {
      const p = await profileBy(t, 'anonymous_id', 'a1');
      expect(p.identities).toEqual([{ type: 'anonymous_id', value: 'a1' }]);
      await noProfileBy(t, 'user_id', 'Anonymous');
      const { decisions } = await mergesOf(t, p.id);
      expect(decisions).toMatchObject([
        { kind: 'blocked', identifier: { type: 'user_id', value: 'Anonymous' }, reason: 'blocked_value' },
      ]);
    },
  },
  {
    name: 'blocked: e-mail test@test.com (after normalisation) does not join two visitors',
    steps: [
      [
        {
          type: 'track',
          anonymousId: 'a1',
          messageId: 'm1',
          timestamp: at(0),
          event: 'X',
          context: { traits: { email: 'test@test.com' } },
        },
        {
          type: 'track',
          anonymousId: 'a2',
          messageId: 'm2',
          timestamp: at(1),
          event: 'X',
          context: { traits: { email: ' TEST@Test.com ' } },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'anonymous_id', 'a1');
      const p2 = await profileBy(t, 'anonymous_id', 'a2');
      expect(p1.id).not.toBe(p2.id);
      await noProfileBy(t, 'email', 'test@test.com');
      expect((await mergesOf(t, p1.id)).items).toEqual([]);
      const { decisions } = await mergesOf(t, p2.id);
      expect(decisions).toMatchObject([
        { kind: 'blocked', identifier: { type: 'email', value: 'test@test.com' }, reason: 'blocked_value' },
      ]);
    },
  },
  {
    name: 'blocked: an event whose only identifier is blocked is quarantined (missing_identity), no profile',
    steps: [[{ type: 'track', userId: 'anonymous', messageId: 'm1', timestamp: at(0), event: 'X' }]],
    async expect(t) {
      await noProfileBy(t, 'user_id', 'anonymous');
      expect(await t.app.storage.profiles.count()).toBe(0);
      const q = await t.get('/v1/sources/web/quarantine');
      expect(q.status).toBe(200);
      expect(q.body.items).toMatchObject([{ code: 'missing_identity', messageId: 'm1', status: 'open' }]);
    },
  },

  // ── Merge flag ─────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'merge flag: device_id is link-only, two user ids on one device stay two profiles',
    steps: [
      [
        {
          type: 'identify',
          userId: 'u1',
          messageId: 'm1',
          timestamp: at(0),
          context: { externalIds: [{ type: 'device_id', id: 'tablet-1' }] },
        },
      ],
      [
        {
          type: 'identify',
          userId: 'u2',
          messageId: 'm2',
          timestamp: at(1),
          context: { externalIds: [{ type: 'device_id', id: 'tablet-1' }] },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      // The device is attached to the first profile seen on it.
      expect(typesOf(p1, 'device_id')).toEqual(['tablet-1']);
      expect(p2.identities).toEqual([{ type: 'user_id', value: 'u2' }]);
      expect((await mergesOf(t, p1.id)).items).toEqual([]);
    },
  },
  {
    name: 'merge flag: two anonymous visitors on one device (no limit involved) are not merged',
    steps: [
      [
        {
          type: 'page',
          anonymousId: 'a1',
          messageId: 'm1',
          timestamp: at(0),
          context: { externalIds: [{ type: 'device_id', id: 'tablet-1' }] },
        },
      ],
      [
        {
          type: 'page',
          anonymousId: 'a2',
          messageId: 'm2',
          timestamp: at(1),
          context: { externalIds: [{ type: 'device_id', id: 'tablet-1' }] },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'anonymous_id', 'a1');
      const p2 = await profileBy(t, 'anonymous_id', 'a2');
      expect(p1.id).not.toBe(p2.id);
      expect((await profileBy(t, 'device_id', 'tablet-1')).id).toBe(p1.id);
      expect((await eventsOf(t, p2.id)).map((e) => e.messageId)).toEqual(['m2']);
    },
  },

  // ── Limits ─────────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'limit user_id 1: a second user id with the same e-mail stays separate; the e-mail stays with the first',
    steps: [
      [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0), traits: { email: 'x@example.com' } }],
      [{ type: 'identify', userId: 'u2', messageId: 'm2', timestamp: at(1), traits: { email: 'x@example.com' } }],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      expect((await profileBy(t, 'email', 'x@example.com')).id).toBe(p1.id);
      expect(p2.identities).toEqual([{ type: 'user_id', value: 'u2' }]);
      const { decisions } = await mergesOf(t, p2.id);
      expect(decisions).toMatchObject([
        {
          kind: 'drop',
          identifier: { type: 'email', value: 'x@example.com' },
          reason: 'limit_exceeded',
          evidence: { violating: ['user_id'] },
        },
      ]);
    },
  },
  {
    name: 'limit email 5: a sixth e-mail of a user is dropped and recorded',
    steps: [
      [1, 2, 3, 4, 5].map((i) => ({
        type: 'identify',
        userId: 'u1',
        messageId: `m${i}`,
        timestamp: at(i),
        traits: { email: `e${i}@example.com` },
      })),
      [{ type: 'identify', userId: 'u1', messageId: 'm6', timestamp: at(6), traits: { email: 'e6@example.com' } }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(typesOf(p, 'email')).toEqual([1, 2, 3, 4, 5].map((i) => `e${i}@example.com`));
      await noProfileBy(t, 'email', 'e6@example.com');
      const { decisions } = await mergesOf(t, p.id);
      expect(decisions).toMatchObject([
        {
          kind: 'drop',
          identifier: { type: 'email', value: 'e6@example.com' },
          reason: 'limit_exceeded',
          evidence: { violating: ['email'] },
        },
      ]);
      // The event itself still belongs to the user.
      expect((await eventsOf(t, p.id)).map((e) => e.messageId)).toContain('m6');
    },
  },
  {
    name: 'limit anonymous_id 100 / 30 days: a 101st id within the window is dropped',
    steps: [
      hundredVisits,
      [{ type: 'track', event: 'Visit', userId: 'u1', anonymousId: 'a-new', messageId: 'new', timestamp: day(10) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(typesOf(p, 'anonymous_id')).toHaveLength(100);
      await noProfileBy(t, 'anonymous_id', 'a-new');
      const { decisions } = await mergesOf(t, p.id);
      expect(decisions).toMatchObject([
        { kind: 'drop', identifier: { type: 'anonymous_id', value: 'a-new' }, reason: 'limit_exceeded' },
      ]);
      expect((await eventsOf(t, p.id)).map((e) => e.messageId)).toContain('new');
    },
  },
  {
    name: 'limit anonymous_id 100 / 30 days: ids first seen more than 30 days before the event do not count',
    steps: [
      hundredVisits,
      [{ type: 'track', event: 'Visit', userId: 'u1', anonymousId: 'a-new', messageId: 'new', timestamp: day(40) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(typesOf(p, 'anonymous_id')).toHaveLength(101);
      expect((await profileBy(t, 'anonymous_id', 'a-new')).id).toBe(p.id);
      expect((await mergesOf(t, p.id)).decisions).toEqual([]);
    },
  },
  {
    name: 'limit anonymous_id window: a late event of a known user still goes to that user (limits judge the event, not old links)',
    steps: [
      hundredVisits,
      [{ type: 'track', event: 'Visit', userId: 'u1', anonymousId: 'a-new', messageId: 'new', timestamp: day(40) }],
      // Arrives late: its window (day -10 … ) counts all 101 ids, but it adds none.
      [{ type: 'track', event: 'Late', userId: 'u1', messageId: 'late', timestamp: day(20) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect((await eventsOf(t, p.id)).map((e) => e.messageId)).toContain('late');
      expect(await t.app.storage.profiles.count()).toBe(1);
    },
  },
  {
    name: 'limit: a tightened rule does not detach a known user from the profile that already exceeds it',
    steps: [
      [1, 2, 3].map((i) => ({
        type: 'identify',
        userId: 'u1',
        messageId: `m${i}`,
        timestamp: at(i),
        traits: { email: `e${i}@example.com` },
      })),
      setRules({ types: { ...DEFAULT_IDENTITY_RULES.types, email: { merge: true, limit: 2 } } }),
      [{ type: 'track', userId: 'u1', messageId: 'after', timestamp: at(10), event: 'X' }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(typesOf(p, 'email')).toHaveLength(3);
      expect((await eventsOf(t, p.id)).map((e) => e.messageId)).toContain('after');
      expect(await t.app.storage.profiles.count()).toBe(1);
    },
  },
  {
    name: 'limit user_id 1 holds when each side is reached through two identifiers',
    steps: [
      [
        {
          type: 'identify',
          userId: 'u1',
          anonymousId: 'a1',
          messageId: 'm1',
          timestamp: at(0),
          traits: { email: 'one@example.com' },
        },
      ],
      [
        {
          type: 'identify',
          userId: 'u2',
          anonymousId: 'a2',
          messageId: 'm2',
          timestamp: at(1),
          traits: { email: 'two@example.com' },
        },
      ],
      [
        {
          type: 'track',
          anonymousId: 'a1',
          messageId: 'm3',
          timestamp: at(2),
          event: 'X',
          context: {
            traits: { email: 'one@example.com' },
            externalIds: [
              { type: 'anonymous_id', id: 'a2' },
              { type: 'email', id: 'two@example.com' },
            ],
          },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      expect(typesOf(p1, 'user_id')).toEqual(['u1']);
      expect((await mergesOf(t, p1.id)).items).toEqual([]);
    },
  },

  // ── Priority ───────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'priority: an anonymous id shared by u1 and u2 is dropped; u2 gets a new profile, the id stays with u1',
    steps: [
      [{ type: 'identify', userId: 'u1', anonymousId: 'shared', messageId: 'm1', timestamp: at(0) }],
      [{ type: 'identify', userId: 'u2', anonymousId: 'shared', messageId: 'm2', timestamp: at(1) }],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      expect((await profileBy(t, 'anonymous_id', 'shared')).id).toBe(p1.id);
      expect(p2.identities).toEqual([{ type: 'user_id', value: 'u2' }]);
      expect((await eventsOf(t, p2.id)).map((e) => e.messageId)).toEqual(['m2']);
      const { decisions } = await mergesOf(t, p2.id);
      expect(decisions).toMatchObject([
        { kind: 'drop', identifier: { type: 'anonymous_id', value: 'shared' }, reason: 'limit_exceeded' },
      ]);
    },
  },
  {
    name: 'priority: an event linking u1 (by anonymous id) and u2 (by e-mail) goes to u2; the anonymous id is dropped',
    steps: [
      [{ type: 'identify', userId: 'u1', anonymousId: 'a1', messageId: 'm1', timestamp: at(0) }],
      [{ type: 'identify', userId: 'u2', messageId: 'm2', timestamp: at(1), traits: { email: 'two@example.com' } }],
      [
        {
          type: 'track',
          anonymousId: 'a1',
          messageId: 'm3',
          timestamp: at(2),
          event: 'X',
          context: { traits: { email: 'two@example.com' } },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      expect((await eventsOf(t, p2.id)).map((e) => e.messageId)).toEqual(['m3', 'm2']);
      expect((await profileBy(t, 'anonymous_id', 'a1')).id).toBe(p1.id);
      const { decisions } = await mergesOf(t, p2.id);
      expect(decisions).toMatchObject([
        { kind: 'drop', identifier: { type: 'anonymous_id', value: 'a1' }, reason: 'limit_exceeded' },
      ]);
    },
  },

  // ── Alias ──────────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'alias: previousId (an anonymous id) joins the user id',
    steps: [
      [{ type: 'page', anonymousId: 'visitor-9', messageId: 'm1', timestamp: at(0), name: 'Home' }],
      [{ type: 'identify', userId: 'u1', messageId: 'm2', timestamp: at(1) }],
      [{ type: 'alias', previousId: 'visitor-9', userId: 'u1', messageId: 'm3', timestamp: at(2) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect((await profileBy(t, 'anonymous_id', 'visitor-9')).id).toBe(p.id);
      expect(p.identities).toEqual([
        { type: 'anonymous_id', value: 'visitor-9' },
        { type: 'user_id', value: 'u1' },
      ]);
      expect((await eventsOf(t, p.id)).map((e) => e.messageId)).toEqual(['m3', 'm2', 'm1']);
      expect((await mergesOf(t, p.id)).items).toHaveLength(1);
    },
  },
  {
    name: 'alias: joining two user ids is refused and recorded',
    steps: [
      [{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0) }],
      [{ type: 'identify', userId: 'u2', messageId: 'm2', timestamp: at(1) }],
      [{ type: 'alias', previousId: 'u1', userId: 'u2', messageId: 'm3', timestamp: at(2) }],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      expect(p2.identities).toEqual([{ type: 'user_id', value: 'u2' }]);
      const { items, decisions } = await mergesOf(t, p2.id);
      expect(items).toEqual([]);
      expect(decisions).toMatchObject([
        {
          kind: 'refused',
          identifier: { type: 'user_id', value: 'u1' },
          reason: 'alias_joins_user_ids',
          evidence: { userId: 'u2' },
        },
      ]);
      expect((await mergesOf(t, p1.id)).items).toEqual([]);
    },
  },

  // ── Guards ─────────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'guard: a merge of more profiles than maxProfilesPerMerge goes to review, nothing is merged',
    steps: [
      setRules({ maxProfilesPerMerge: 2 }),
      [{ type: 'page', anonymousId: 'g1', messageId: 'm1', timestamp: at(0) }],
      [
        {
          type: 'page',
          anonymousId: 'g2',
          messageId: 'm2',
          timestamp: at(1),
          context: { traits: { email: 'g2@example.com' } },
        },
      ],
      [
        {
          type: 'page',
          anonymousId: 'g3',
          messageId: 'm3',
          timestamp: at(2),
          context: { traits: { phone: '+1 650 253 0000' } },
        },
      ],
      [
        {
          type: 'track',
          anonymousId: 'g1',
          messageId: 'join',
          timestamp: at(3),
          event: 'X',
          context: { traits: { email: 'g2@example.com', phone: '650-253-0000' } },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'anonymous_id', 'g1');
      const p2 = await profileBy(t, 'email', 'g2@example.com');
      const p3 = await profileBy(t, 'phone', '+16502530000');
      expect(new Set([p1.id, p2.id, p3.id]).size).toBe(3);
      for (const p of [p1, p2, p3]) expect((await mergesOf(t, p.id)).items).toEqual([]);
      // The event went to the profile of its highest-priority identifier (the e-mail).
      expect((await eventsOf(t, p2.id)).map((e) => e.messageId)).toEqual(['join', 'm2']);
      const { decisions } = await mergesOf(t, p2.id);
      expect(decisions).toMatchObject([
        {
          kind: 'guard',
          identifier: null,
          reason: 'max_profiles_per_merge',
          evidence: { profiles: 3, limit: 2 },
          settingsVersion: 1,
        },
      ]);
    },
  },
  {
    name: 'guard: a two-profile merge within maxProfilesPerMerge 2 goes through',
    steps: [
      setRules({ maxProfilesPerMerge: 2 }),
      [{ type: 'page', anonymousId: 'g1', messageId: 'm1', timestamp: at(0) }],
      [
        {
          type: 'page',
          anonymousId: 'g2',
          messageId: 'm2',
          timestamp: at(1),
          context: { traits: { email: 'g2@example.com' } },
        },
      ],
      [
        {
          type: 'track',
          anonymousId: 'g1',
          messageId: 'join',
          timestamp: at(3),
          event: 'X',
          context: { traits: { email: 'g2@example.com' } },
        },
      ],
    ],
    async expect(t) {
      const p = await profileBy(t, 'anonymous_id', 'g1');
      expect((await profileBy(t, 'email', 'g2@example.com')).id).toBe(p.id);
      const { items, decisions } = await mergesOf(t, p.id);
      expect(items).toMatchObject([{ rule: 'deterministic', settingsVersion: 1 }]);
      expect(decisions).toEqual([]);
    },
  },
  {
    name: 'guard: identifiers beyond maxIdentifiersPerProfile are not linked and go to review',
    steps: [
      setRules({ maxIdentifiersPerProfile: 2 }),
      [
        {
          type: 'identify',
          userId: 'u1',
          anonymousId: 'a1',
          messageId: 'm1',
          timestamp: at(0),
          traits: { email: 'u1@example.com', phone: '650-253-0000' },
        },
      ],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      expect(p.identities).toEqual([
        { type: 'anonymous_id', value: 'a1' },
        { type: 'user_id', value: 'u1' },
      ]);
      const { decisions } = await mergesOf(t, p.id);
      expect(decisions).toMatchObject([
        {
          kind: 'guard',
          reason: 'max_identifiers_per_profile',
          evidence: {
            dropped: [
              { type: 'email', value: 'u1@example.com' },
              { type: 'phone', value: '+16502530000' },
            ],
          },
          settingsVersion: 1,
        },
      ]);
    },
  },

  {
    name: 'guard: a merge that would give one profile more than maxIdentifiersPerProfile goes to review, not through',
    steps: [
      setRules({ maxIdentifiersPerProfile: 3 }),
      [
        {
          type: 'page',
          anonymousId: 'g1',
          messageId: 'm1',
          timestamp: at(0),
          context: { traits: { email: 'g1@example.com' } },
        },
      ],
      [
        {
          type: 'page',
          anonymousId: 'g2',
          messageId: 'm2',
          timestamp: at(1),
          context: { traits: { phone: '650-253-0000' } },
        },
      ],
      [
        {
          type: 'track',
          anonymousId: 'g1',
          messageId: 'join',
          timestamp: at(2),
          event: 'X',
          context: { traits: { phone: '650-253-0000' } },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'anonymous_id', 'g1');
      const p2 = await profileBy(t, 'anonymous_id', 'g2');
      expect(p1.identities.length).toBeLessThanOrEqual(3);
      expect(p1.id).not.toBe(p2.id);
      const decisions = [...(await mergesOf(t, p1.id)).decisions, ...(await mergesOf(t, p2.id)).decisions];
      expect(decisions).toMatchObject([{ kind: 'guard', reason: 'max_identifiers_per_profile' }]);
    },
  },

  // ── Survivor, redirects, evidence ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'survivor: the first-created profile survives; the merged id answers with the survivor',
    steps: [
      [{ type: 'page', anonymousId: 'a1', messageId: 'm1', timestamp: at(0) }],
      [{ type: 'identify', userId: 'u1', messageId: 'm2', timestamp: at(1), traits: { plan: 'pro' } }],
      [{ type: 'identify', userId: 'u1', anonymousId: 'a1', messageId: 'm3', timestamp: at(2) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'u1');
      const events = await eventsOf(t, p.id);
      // Each event keeps the profile id it was processed under.
      const firstId = storedUnder(events, 'm1');
      const secondId = storedUnder(events, 'm2');
      expect(firstId).not.toBe(secondId);
      expect(p.id).toBe(firstId);
      expect(p.mergedIds).toEqual([secondId]);
      expect(p.traits.plan).toBe('pro');
      const merged = await t.get(`/v1/profiles/${secondId}`);
      expect(merged.status).toBe(200);
      expect(merged.body.id).toBe(firstId);
    },
  },
  {
    name: 'survivor: earliest createdAt wins over a smaller id',
    steps: [
      seedProfile(HIGH_ID, 1_000, [['anonymous_id', 'x-old']]),
      seedProfile(LOW_ID, 2_000, [['email', 'x-new@example.com']]),
      [
        {
          type: 'track',
          anonymousId: 'x-old',
          messageId: 'm1',
          timestamp: at(0),
          event: 'X',
          context: { traits: { email: 'x-new@example.com' } },
        },
      ],
    ],
    async expect(t) {
      const r = await t.get(`/v1/profiles/prof_${LOW_ID}`);
      expect(r.status).toBe(200);
      expect(r.body.id).toBe(`prof_${HIGH_ID}`);
      expect(r.body.mergedIds).toEqual([`prof_${LOW_ID}`]);
    },
  },
  {
    name: 'survivor: with equal createdAt the smallest id wins',
    steps: [
      seedProfile(HIGH_ID, 1_000, [['anonymous_id', 'x-old']]),
      seedProfile(LOW_ID, 1_000, [['email', 'x-new@example.com']]),
      [
        {
          type: 'track',
          anonymousId: 'x-old',
          messageId: 'm1',
          timestamp: at(0),
          event: 'X',
          context: { traits: { email: 'x-new@example.com' } },
        },
      ],
    ],
    async expect(t) {
      const r = await t.get(`/v1/profiles/prof_${HIGH_ID}`);
      expect(r.status).toBe(200);
      expect(r.body.id).toBe(`prof_${LOW_ID}`);
    },
  },
  {
    name: 'redirects: events of both sides are visible on the survivor and through the merged id',
    steps: [
      [{ type: 'page', anonymousId: 'a1', messageId: 'm1', timestamp: at(0) }],
      [{ type: 'track', userId: 'u1', messageId: 'm2', timestamp: at(1), event: 'Signed Up' }],
      [{ type: 'identify', userId: 'u1', anonymousId: 'a1', messageId: 'm3', timestamp: at(2) }],
      [{ type: 'track', userId: 'u1', messageId: 'm4', timestamp: at(3), event: 'Bought' }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'anonymous_id', 'a1');
      const events = await eventsOf(t, p.id);
      expect(events.map((e) => e.messageId)).toEqual(['m4', 'm3', 'm2', 'm1']);
      const mergedId = p.mergedIds[0];
      expect(mergedId).toMatch(/^prof_/);
      expect((await eventsOf(t, mergedId)).map((e) => e.messageId)).toEqual(['m4', 'm3', 'm2', 'm1']);
      // m2 was stored under the merged profile and is never re-keyed.
      expect(storedUnder(events, 'm2')).toBe(mergedId);
      expect(storedUnder(events, 'm4')).toBe(p.id);
    },
  },
  {
    name: 'redirects: a chain of merges is flattened (C → B, then B → A: C answers with A)',
    steps: [
      [{ type: 'page', anonymousId: 'a', messageId: 'm1', timestamp: at(0) }],
      [
        {
          type: 'page',
          anonymousId: 'b',
          messageId: 'm2',
          timestamp: at(1),
          context: { traits: { email: 'b@example.com' } },
        },
      ],
      [{ type: 'page', anonymousId: 'c', messageId: 'm3', timestamp: at(2) }],
      [
        {
          type: 'page',
          anonymousId: 'c',
          messageId: 'm4',
          timestamp: at(3),
          context: { traits: { email: 'b@example.com' } },
        },
      ],
      [
        {
          type: 'page',
          anonymousId: 'a',
          messageId: 'm5',
          timestamp: at(4),
          context: { traits: { email: 'b@example.com' } },
        },
      ],
    ],
    async expect(t) {
      const a = await profileBy(t, 'anonymous_id', 'a');
      const events = await eventsOf(t, a.id);
      expect(events.map((e) => e.messageId)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
      const cId = storedUnder(events, 'm3');
      const bId = storedUnder(events, 'm2');
      expect((await t.get(`/v1/profiles/${cId}`)).body.id).toBe(a.id);
      expect((await t.get(`/v1/profiles/${bId}`)).body.id).toBe(a.id);
      expect((await mergesOf(t, a.id)).items.map((m) => [m.survivorId, m.mergedId])).toEqual([
        [bId, cId],
        [a.id, bId],
      ]);
      // Every id that now answers with A is listed as merged into A, the one merged through B too.
      expect([...a.mergedIds].sort()).toEqual([bId, cId].sort());
    },
  },
  {
    name: 'evidence: the merge is listed with rule deterministic, its event and the identifiers that linked it',
    steps: [
      [{ type: 'page', anonymousId: 'e-anon', messageId: 'e1', timestamp: at(0) }],
      [{ type: 'identify', userId: 'e-user', messageId: 'e2', timestamp: at(1) }],
      [{ type: 'identify', userId: 'e-user', anonymousId: 'e-anon', messageId: 'e3', timestamp: at(2) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'e-user');
      const events = await eventsOf(t, p.id);
      const { items, decisions } = await mergesOf(t, p.id);
      expect(items).toHaveLength(1);
      const m = items[0];
      expect(m).toMatchObject({
        rule: 'deterministic',
        survivorId: storedUnder(events, 'e1'),
        mergedId: storedUnder(events, 'e2'),
        settingsVersion: 0,
        evidence: { messageId: 'e3' },
      });
      expect(m.id).toMatch(/^mrg_/);
      expect(Number.isNaN(Date.parse(m.mergedAt))).toBe(false);
      expect(m.evidence.linkedBy.map((l) => `${l.type}:${l.value}`).sort()).toEqual([
        'anonymous_id:e-anon',
        'user_id:e-user',
      ]);
      expect(decisions).toEqual([]);
      // The same record is reachable from the merged id.
      expect((await mergesOf(t, m.mergedId)).items).toEqual(items);
      expect(fromPublicId('profile', m.survivorId)).toBeDefined();
    },
  },

  {
    name: 'evidence: profile ids inside the recorded evidence are public (prof_) ids, like everywhere in the API',
    steps: [
      [{ type: 'page', anonymousId: 'e-anon', messageId: 'e1', timestamp: at(0) }],
      [{ type: 'identify', userId: 'e-user', messageId: 'e2', timestamp: at(1) }],
      [{ type: 'identify', userId: 'e-user', anonymousId: 'e-anon', messageId: 'e3', timestamp: at(2) }],
    ],
    async expect(t) {
      const p = await profileBy(t, 'user_id', 'e-user');
      const [m] = (await mergesOf(t, p.id)).items;
      expect(m.evidence.linkedBy.map((l) => l.profileId).sort()).toEqual([m.survivorId, m.mergedId].sort());
    },
  },

  // ── Groups ─────────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'group: two people in one group stay two profiles, both linked to the account',
    steps: [
      [
        { type: 'identify', userId: 'u1', messageId: 'm1', timestamp: at(0), traits: { email: 'u1@acme.com' } },
        { type: 'identify', userId: 'u2', messageId: 'm2', timestamp: at(1), traits: { email: 'u2@acme.com' } },
        {
          type: 'group',
          userId: 'u1',
          groupId: 'acme',
          messageId: 'g1',
          timestamp: at(2),
          traits: { name: 'Acme', email: 'billing@acme.com' },
        },
        {
          type: 'group',
          userId: 'u2',
          groupId: 'acme',
          messageId: 'g2',
          timestamp: at(3),
          traits: { plan: 'enterprise', email: 'billing@acme.com' },
        },
      ],
    ],
    async expect(t) {
      const p1 = await profileBy(t, 'user_id', 'u1');
      const p2 = await profileBy(t, 'user_id', 'u2');
      expect(p1.id).not.toBe(p2.id);
      // Group traits describe the account: its e-mail is no person's identifier or trait.
      await noProfileBy(t, 'email', 'billing@acme.com');
      expect(p1.traits.email).toBe('u1@acme.com');
      const a1 = await accountsOf(t, p1.id);
      const a2 = await accountsOf(t, p2.id);
      expect(a1).toMatchObject([
        { groupId: 'acme', traits: { name: 'Acme', plan: 'enterprise', email: 'billing@acme.com' } },
      ]);
      expect(a1[0].id).toMatch(/^acct_/);
      expect(a2.map((a) => a.id)).toEqual([a1[0].id]);
      expect((await mergesOf(t, p1.id)).items).toEqual([]);
    },
  },
];

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

describe('identity rules (DESIGN §4)', () => {
  it.each(cases)('$name', async (c) => {
    for (const step of c.steps) {
      if (typeof step === 'function') {
        await step(t);
        continue;
      }
      const r = await t.send(step);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ success: true, accepted: step.length, quarantined: [] });
      await t.app.drain();
    }
    await c.expect(t);
  });
});

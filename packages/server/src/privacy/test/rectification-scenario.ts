import { fromPublicId, toPublicId } from '@tessera/protocol';
import { expect } from 'vitest';
import type { App } from '../../app.js';
import { callAs, type Json, sendAs } from '../../test/inject.js';
import { CORRECTION_SOURCE_ID } from '../rectify-person.js';

/**
 * The person of the rectification tests (docs/privacy.md, Rectification): Zoe, sent with a misspelt last name
 * (`Smiht`) by two sources, in traits, `context.traits`, event properties, a quarantined call and a webhook's
 * delivery; and Bob, who really is called Smiht and must keep it everywhere.
 */

export const WRONG = 'Smiht';
export const RIGHT = 'Smith';
export const ZOE = { email: 'zoe.rectify@example.org', userId: 'zoe-r-1', app: 'anon-zoe-r-app' };
export const BOB = { email: 'bob.smiht@example.org', userId: 'bob-r-1' };
/** Event time `m` minutes after the scenario's start. */
export const t = (m: number) => new Date(Date.UTC(2026, 9, 1, 9, m)).toISOString();

/** The tables holding what was sent about a person, scanned by the tests for the wrong value. */
export const SCANNED = ['ingest_log', 'events', 'quarantine', 'deliveries', 'trait_history', 'profiles'] as const;

/** Loads both people into `app` (its pipeline driven by `drain`); a DPO caller and Zoe's profile id. */
export async function loadPeople(app: App, hookUrl: string) {
  const web = await app.sources.create({ name: 'rectify-web' });
  const mobile = await app.sources.create({ name: 'rectify-app' });
  const { token } = await app.tokens.create('dpo', ['dpo']);
  const call = callAs(app, token);
  await app.destinations.create(
    {
      name: 'orders',
      type: 'webhook',
      config: { url: hookUrl },
      subscription: { events: { names: ['Order Completed'] } },
      purpose: null,
    },
    'test',
  );
  await sendAs(app, web.writeKey, [
    {
      type: 'identify',
      userId: ZOE.userId,
      traits: { email: ZOE.email, firstName: 'Zoe', lastName: WRONG },
      messageId: 'zoe-r-1',
      timestamp: t(0),
    },
    {
      type: 'track',
      userId: ZOE.userId,
      event: 'Order Completed',
      properties: { total: 120, shipToLastName: WRONG, note: `${WRONG} family` },
      context: { traits: { lastName: WRONG } },
      messageId: 'zoe-r-2',
      timestamp: t(1),
    },
    // Refused (a bad timestamp): quarantined with its raw payload.
    {
      type: 'track',
      userId: ZOE.userId,
      event: 'Broken',
      properties: { lastName: WRONG },
      messageId: 'zoe-r-3',
      timestamp: 'not a date',
    },
    {
      type: 'identify',
      userId: BOB.userId,
      traits: { email: BOB.email, lastName: WRONG },
      messageId: 'bob-r-1',
      timestamp: t(0),
    },
    {
      type: 'track',
      userId: BOB.userId,
      event: 'Order Completed',
      properties: { total: 10, shipToLastName: WRONG },
      messageId: 'bob-r-2',
      timestamp: t(1),
    },
  ]);
  await sendAs(app, mobile.writeKey, [
    {
      type: 'identify',
      anonymousId: ZOE.app,
      traits: { email: ZOE.email, lastName: WRONG },
      messageId: 'zoe-r-4',
      timestamp: t(2),
    },
  ]);
  await app.drain();
  const zoe = (await call('GET', `/v1/profiles/by/email/${ZOE.email}`)).body;
  expect(zoe.traits.lastName).toBe(WRONG);
  return { call, token, zoeId: zoe.id as string };
}

/** Rectifies Zoe's last name (asked by her e-mail, upper-cased: it is normalised); the finished request. */
export async function rectifyZoe(app: App, call: Awaited<ReturnType<typeof loadPeople>>['call']) {
  const made = await call('POST', '/v1/privacy/requests', {
    type: 'rectify',
    identifier: { type: 'email', value: ZOE.email.toUpperCase() },
    corrections: { lastName: RIGHT },
  });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  expect(made.body).toMatchObject({ type: 'rectify', status: 'running' });
  await app.privacy.settled(made.body.id);
  const done = (await call('GET', `/v1/privacy/requests/${made.body.id}`)).body;
  expect(done, JSON.stringify(done)).toMatchObject({ type: 'rectify', status: 'completed', error: null });
  return done;
}

/**
 * What must hold after the rectification, read through the API: the profile's new value, now and as of before it;
 * the history's correction row; the proof's counts; Bob untouched.
 */
export async function expectRectified(person: Awaited<ReturnType<typeof loadPeople>>, done: Json): Promise<void> {
  const { call, zoeId } = person;
  expect(done.proof).toMatchObject({
    found: true,
    traits: ['lastName'],
    profilesTouched: 1,
    correctionRows: 1,
    identifiersChanged: 0,
    // Her three stored calls, their three events, the order's delivery. Her refused call (quarantined, at no
    // event's log position) keeps it: a correction takes only calls at her events' positions (docs/privacy.md).
    redacted: { ingest_log: 3, events: 3, quarantine: 0, deliveries: 1 },
  });
  expect(done.proof.historyRowsRewritten).toBeGreaterThanOrEqual(1);
  // Counts and names only: no value of the person anywhere in the request.
  for (const v of [WRONG, RIGHT, ZOE.email, ZOE.userId]) expect(JSON.stringify(done)).not.toContain(v);

  const now = (await call('GET', `/v1/profiles/${zoeId}`)).body;
  expect(now.traits).toMatchObject({ lastName: RIGHT, firstName: 'Zoe', email: ZOE.email });
  for (const asOf of [t(0), t(1), t(2)]) {
    const then = (await call('GET', `/v1/profiles/${zoeId}?asOf=${encodeURIComponent(asOf)}`)).body;
    expect(then.traits.lastName, asOf).toBe(RIGHT);
  }
  // As known before the correction too: the earlier rows were rewritten, not superseded.
  const known = (await call('GET', `/v1/profiles/${zoeId}?knownAt=${encodeURIComponent(done.createdAt)}`)).body;
  expect(known.traits.lastName).toBe(RIGHT);
  const history = (await call('GET', `/v1/profiles/${zoeId}/history?trait=lastName`)).body.items;
  expect(history.map((r: Json) => r.value)).not.toContain(WRONG);
  const correction = history.find((r: Json) => r.sourceId === toPublicId('source', CORRECTION_SOURCE_ID));
  expect(correction).toMatchObject({ value: RIGHT, validTo: null, supersededAt: null });
  expect(fromPublicId('event', correction.eventId)).toBe(fromPublicId('privacy', done.id));

  const bob = (await call('GET', `/v1/profiles/by/email/${BOB.email}`)).body;
  expect(bob.traits.lastName).toBe(WRONG);
  const bobHistory = (await call('GET', `/v1/profiles/${bob.id}/history?trait=lastName`)).body.items;
  expect(bobHistory.map((r: Json) => r.value)).toEqual([WRONG]);
}

/**
 * The rows, per scanned table, holding the wrong value as a JSON string after the rectification: Bob's (his two
 * calls and events, his delivery, his history row and profile) and Zoe's refused call (its raw copy in the log and
 * in quarantine: at no event's position, a correction leaves it); Zoe's other rows hold `"[rectified]"` instead.
 */
export function expectOnlyBobKeepsIt(
  wrong: Record<(typeof SCANNED)[number], number>,
  rectified: Record<(typeof SCANNED)[number], number>,
): void {
  expect(wrong).toEqual({ ingest_log: 3, events: 2, quarantine: 1, deliveries: 1, trait_history: 1, profiles: 1 });
  expect(rectified).toEqual({
    ingest_log: 3,
    events: 3,
    quarantine: 0,
    deliveries: 1,
    trait_history: 0,
    profiles: 0,
  });
}

import { expect } from 'vitest';
import type { App } from '../../app.js';
import { callAs, type Json, sendAs } from '../../test/inject.js';

/** The person of the erasure tests (issue 7): two sources, a merge, a quarantined call, a delivery; and another. */

export const ZOE = {
  email: 'zoeline.erasmusson@example.org',
  phone: '+33612345678',
  phoneAsSent: '+33 6 12 34 56 78',
  userId: 'zoe-user-4821',
  web: 'anon-zoe-web-7731',
  app: 'anon-zoe-app-8842',
  first: 'Zoeline',
  last: 'Erasmusson',
};
export const OTHER = { email: 'bertrand.keeper@example.org', userId: 'bert-user-1199', web: 'anon-bert-web-5566' };

export function zoeCalls(prefix: string) {
  const t = (m: number) => new Date(Date.UTC(2026, 10, 20, 10, m)).toISOString();
  return {
    web: [
      { type: 'page', anonymousId: ZOE.web, name: 'Home', messageId: `${prefix}-zoe-1`, timestamp: t(0) },
      {
        type: 'identify',
        anonymousId: ZOE.web,
        userId: ZOE.userId,
        traits: { email: ZOE.email, phone: ZOE.phoneAsSent, firstName: ZOE.first, lastName: ZOE.last },
        context: { consent: { categoryPreferences: { marketing: true } } },
        messageId: `${prefix}-zoe-2`,
        timestamp: t(1),
      },
      {
        type: 'track',
        userId: ZOE.userId,
        event: 'Order Completed',
        properties: { total: 120, shipTo: `${ZOE.first} ${ZOE.last}` },
        messageId: `${prefix}-zoe-3`,
        timestamp: t(2),
      },
      // Refused (a bad timestamp): quarantined with its raw payload.
      {
        type: 'track',
        userId: ZOE.userId,
        event: 'Broken',
        properties: { email: ZOE.email },
        messageId: `${prefix}-zoe-4`,
        timestamp: 'not a date',
      },
    ],
    app: [
      { type: 'screen', anonymousId: ZOE.app, name: 'Cart', messageId: `${prefix}-zoe-5`, timestamp: t(3) },
      // A second device joined: a merge.
      {
        type: 'identify',
        anonymousId: ZOE.app,
        traits: { email: ZOE.email },
        messageId: `${prefix}-zoe-6`,
        timestamp: t(4),
      },
    ],
  };
}

/**
 * Loads the scenario into `app` (its pipeline driven by `drain`): sources `erasure-web` and `erasure-app`, a DPO token, a webhook
 * destination to `hookUrl` taking orders; the person and the other one. Answers what the tests need.
 */
export async function loadPerson(app: App, hookUrl: string, opts: { fileExport?: boolean } = {}) {
  const web = await app.sources.create({ name: 'erasure-web' });
  const mobile = await app.sources.create({ name: 'erasure-app' });
  const { token } = await app.tokens.create('dpo', ['dpo']);
  const call = callAs(app, token);
  const send = (writeKey: string, calls: unknown[]) => sendAs(app, writeKey, calls);
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
  if (opts.fileExport)
    await app.destinations.create(
      {
        name: 'export',
        type: 'file',
        config: { directory: 'orders', format: 'csv' },
        subscription: { events: { names: ['Order Completed'] }, profiles: true },
        purpose: null,
      },
      'test',
    );
  const zoe = zoeCalls('first');
  await send(web.writeKey, [
    ...zoe.web,
    {
      type: 'identify',
      userId: OTHER.userId,
      anonymousId: OTHER.web,
      traits: { email: OTHER.email },
      messageId: 'bert-1',
    },
    { type: 'track', userId: OTHER.userId, event: 'Order Completed', properties: { total: 10 }, messageId: 'bert-2' },
  ]);
  await send(mobile.writeKey, zoe.app);
  await app.drain();
  const profile = (await call('GET', `/v1/profiles/by/email/${ZOE.email}`)).body;
  expect(profile.identities.map((i: Json) => i.value).sort()).toEqual(
    [ZOE.app, ZOE.web, ZOE.email, ZOE.phone, ZOE.userId].sort(),
  );
  expect((await call('GET', `/v1/profiles/${profile.id}/merges`)).body.items.length).toBeGreaterThan(0);
  return { web, mobile, token, call, send, profileId: profile.id as string };
}

/** Erases the person by e-mail (upper-cased: it is normalised) and checks the request's outcome. */
export async function eraseZoe(
  app: App,
  call: Awaited<ReturnType<typeof loadPerson>>['call'],
  /** Tables that must have lost rows (cluster mode has no `ingest_log` rows: the log is a stream). */
  tables = [
    'events',
    'profiles',
    'identities',
    'merges',
    'ingest_log',
    'quarantine',
    'deliveries',
    'trait_history',
    'consents',
  ],
) {
  const request = await call('POST', '/v1/privacy/requests', {
    type: 'erase',
    identifier: { type: 'email', value: ZOE.email.toUpperCase() },
  });
  expect(request.status).toBe(201);
  await app.privacy.settled(request.body.id);
  const done = (await call('GET', `/v1/privacy/requests/${request.body.id}`)).body;
  expect(done).toMatchObject({ type: 'erase', status: 'completed', profiles: 2 });
  for (const table of tables) expect(done.proof.tables[table], table).toBeGreaterThan(0);
  expect((await call('GET', `/v1/profiles/by/email/${ZOE.email}`)).status).toBe(404);
  expect((await call('GET', `/v1/profiles/by/email/${OTHER.email}`)).status).toBe(200);
  return done;
}

/** What must not be found anywhere after the erasure. */
export function needles(profileId: string): string[] {
  return [
    ZOE.email,
    ZOE.phone,
    ZOE.phoneAsSent,
    ZOE.userId,
    ZOE.web,
    ZOE.app,
    ZOE.first,
    ZOE.last,
    profileId,
    profileId.replace(/^prof_/, ''),
    ...[1, 2, 3, 4, 5, 6].map((n) => `first-zoe-${n}`),
  ];
}

/** Sends the person's events again: acknowledged, and (after `drain`) nothing of them stored. */
export async function sendAgain(app: App, person: Awaited<ReturnType<typeof loadPerson>>) {
  const again = zoeCalls('again');
  const answer = await sendAs(app, person.web.writeKey, again.web.slice(0, 3));
  expect(answer.accepted).toBe(3);
  await sendAs(app, person.mobile.writeKey, again.app);
  await app.drain();
  const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toMatch(/tessera_events_suppressed_total\{where="ingest"\} 5/);
  for (const [type, value] of [
    ['email', ZOE.email],
    ['user_id', ZOE.userId],
    ['anonymous_id', ZOE.app],
  ])
    expect((await callAs(app, person.token)('GET', `/v1/profiles/by/${type}/${value}`)).status).toBe(404);
}

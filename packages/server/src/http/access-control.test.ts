import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../auth/permissions.js';
import type { Role } from '../auth/principal.js';
import type { Json } from '../test/inject.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * Access control (DESIGN §8, docs/access-control.md): each role's allowed and refused calls as a table, driven
 * through real sign-ins (session cookies) and through API tokens; PII masked for roles without `pii.read`; a write
 * key reads nothing; every profile read and every change in the audit log; sign-in rate limiting; CSRF on cookies.
 */

let t: TestApp;
const PASSWORD = 'correct horse battery';
const ROLES: Role[] = ['admin', 'marketer', 'analyst', 'dpo'];
let cookies: Record<Role, string>;
let userIds: Record<Role, string>;
let profileId: string;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
async function req(method: Method, url: string, headers: Record<string, string>, body?: unknown) {
  const r = await t.app.http.inject({
    method,
    url,
    headers,
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return { status: r.statusCode, body: (r.body ? r.json() : null) as Json, headers: r.headers };
}
/** A request of the web app: its cookie, and the header browsers add to a same-origin request. */
const asCookie = (role: Role) => ({ cookie: cookies[role], 'sec-fetch-site': 'same-origin' });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signIn(email: string, password: string, headers: Record<string, string> = {}) {
  return req('POST', '/v1/sessions', headers, { email, password });
}

beforeEach(async () => {
  t = await createTestApp();
  cookies = {} as Record<Role, string>;
  userIds = {} as Record<Role, string>;
  for (const role of ROLES) {
    const made = await req('POST', '/v1/users', bearer(t.token), {
      email: `${role}@tessera.test`,
      name: `${role} user`,
      password: PASSWORD,
      roles: [role],
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    userIds[role] = made.body.id;
    const s = await signIn(`${role.toUpperCase()}@tessera.test `, PASSWORD);
    expect(s.status).toBe(201);
    expect(s.body.me.roles).toEqual([role]);
    const setCookie = String(s.headers['set-cookie']);
    expect(setCookie).toMatch(/^tessera_session=tk_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    cookies[role] = setCookie.split(';')[0];
  }
  await t.send([
    {
      type: 'identify',
      userId: 'u-42',
      traits: {
        email: 'jeanne.martin@example.com',
        phone: '+33612345678',
        firstName: 'Jeanne',
        lastName: 'Martin',
        address: { street: '12 rue des Lilas', city: 'Lyon' },
        plan: 'gold',
      },
      context: { ip: '203.0.113.7' },
    },
    {
      type: 'track',
      userId: 'u-42',
      event: 'Order Completed',
      properties: { total: 42, email: 'jeanne.martin@example.com' },
    },
  ]);
  await t.app.drain();
  profileId = (await t.get('/v1/profiles/by/user_id/u-42')).body.id;
});
afterEach(async () => {
  await t.app.close();
});

/** Each call, and the roles that may make it (the permission table, route by route). */
const CALLS: { method: Method; url: () => string; body?: unknown; allowed: Role[] }[] = [
  { method: 'GET', url: () => '/v1/me', allowed: ROLES },
  { method: 'GET', url: () => '/v1/profiles?limit=5', allowed: ROLES },
  { method: 'GET', url: () => `/v1/profiles/${profileId}`, allowed: ROLES },
  { method: 'GET', url: () => `/v1/profiles/${profileId}/events`, allowed: ROLES },
  { method: 'GET', url: () => '/v1/audiences', allowed: ROLES },
  { method: 'GET', url: () => '/v1/destinations', allowed: ROLES },
  { method: 'GET', url: () => '/v1/settings/retention', allowed: ROLES },
  {
    method: 'POST',
    url: () => '/v1/tokens',
    body: { name: 'mine', roles: ['analyst'] },
    allowed: ['admin', 'analyst'],
  },
  { method: 'GET', url: () => '/v1/sources', allowed: ['admin', 'marketer', 'analyst'] },
  { method: 'GET', url: () => '/v1/changes', allowed: ['admin', 'marketer', 'analyst'] },
  { method: 'GET', url: () => `/v1/sources/${t.sourceId}/quarantine`, allowed: ['admin', 'analyst'] },
  {
    method: 'POST',
    url: () => '/v1/audiences',
    body: { key: 'gold', name: 'Gold', definition: { trait: 'plan', equals: 'gold' } },
    allowed: ['admin', 'marketer'],
  },
  {
    method: 'POST',
    url: () => `/v1/profiles/${profileId}/consents`,
    body: { purpose: 'marketing', granted: true },
    allowed: ['admin', 'marketer', 'dpo'],
  },
  { method: 'PUT', url: () => '/v1/settings/retention', body: { rules: [] }, allowed: ['admin', 'dpo'] },
  { method: 'GET', url: () => '/v1/privacy/requests', allowed: ['admin', 'dpo'] },
  { method: 'GET', url: () => '/v1/audit-log', allowed: ['admin', 'dpo'] },
  { method: 'GET', url: () => '/v1/users', allowed: ['admin'] },
  { method: 'POST', url: () => '/v1/sources', body: { name: 'crm' }, allowed: ['admin'] },
  { method: 'GET', url: () => '/v1/tokens', allowed: ROLES },
];

describe('access control', () => {
  it('allows and refuses each call per role, through a session cookie and through an API token', async () => {
    const tokens = {} as Record<Role, string>;
    for (const role of ROLES) {
      const made = await req('POST', '/v1/tokens', asCookie(role), { name: `${role} script`, roles: [role] });
      expect(made.status).toBe(201);
      expect(made.body.userId).toBe(userIds[role]);
      tokens[role] = made.body.token;
    }
    const seen: string[] = [];
    for (const c of CALLS)
      for (const role of ROLES)
        for (const [how, headers] of [
          ['cookie', asCookie(role)],
          ['token', bearer(tokens[role])],
        ] as const) {
          const r = await req(c.method, c.url(), headers, c.body);
          const allowed = c.allowed.includes(role);
          const label = `${role} by ${how}: ${c.method} ${c.url()} → ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`;
          if (allowed) expect([401, 403], label).not.toContain(r.status);
          else {
            expect(r.status, label).toBe(403);
            expect(r.body.error.code).toBe('forbidden');
          }
          expect(r.status, label).toBeLessThan(500);
          seen.push(`${allowed ? 'allowed' : 'refused'} ${role}`);
        }
    // Every role was both allowed and refused something (the table is not all-or-nothing).
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      expect(seen).toContain(`allowed ${role}`);
      expect(seen).toContain(`refused ${role}`);
    }
  });

  it('answers every permission of the table for admin, and none for a write key or no credential', async () => {
    const me = await req('GET', '/v1/me', bearer(t.token));
    expect(me.body.permissions).toEqual(Object.keys(PERMISSIONS));
    const basic = { authorization: `Basic ${Buffer.from(`${t.writeKey}:`).toString('base64')}` };
    for (const c of CALLS) {
      for (const headers of [basic, bearer(t.writeKey), {}]) {
        const r = await req(c.method, c.url(), headers, c.body);
        expect(r.status, `${c.method} ${c.url()}`).toBe(401);
        expect(r.body.error.code).toBe('unauthorized');
      }
    }
  });

  it('masks PII for a marketer and an analyst, in profiles, identities, events and members; the DPO sees it', async () => {
    const secrets = [
      'jeanne.martin@example.com',
      '+33612345678',
      'Jeanne',
      'Martin',
      '12 rue des Lilas',
      '203.0.113.7',
    ];
    const urls = [
      `/v1/profiles/${profileId}`,
      `/v1/profiles/${profileId}/events`,
      `/v1/profiles/${profileId}/identities`,
      `/v1/profiles/${profileId}/history`,
      '/v1/profiles?q=jeanne.martin@example.com',
    ];
    for (const role of ['marketer', 'analyst'] as const) {
      for (const url of urls) {
        const r = await req('GET', url, asCookie(role));
        expect(r.status, url).toBe(200);
        const text = JSON.stringify(r.body);
        for (const s of secrets) expect(text, `${role} ${url}`).not.toContain(s);
      }
      const profile = (await req('GET', `/v1/profiles/${profileId}`, asCookie(role))).body;
      expect(profile.traits).toMatchObject({
        email: 'j***@***.com',
        phone: '***78',
        firstName: 'J***',
        lastName: 'M***',
        address: { street: '***', city: '***' },
        plan: 'gold',
      });
      expect(profile.identities).toContainEqual({ type: 'user_id', value: 'u-42' });
      expect(profile.identities).toContainEqual(expect.objectContaining({ type: 'email', value: 'j***@***.com' }));
    }
    const dpo = (await req('GET', `/v1/profiles/${profileId}`, asCookie('dpo'))).body;
    expect(dpo.traits.email).toBe('jeanne.martin@example.com');
    const events = (await req('GET', `/v1/profiles/${profileId}/events`, asCookie('dpo'))).body;
    expect(JSON.stringify(events)).toContain('203.0.113.7');
  });

  it('leaves a destination’s config unmasked (trait names mapped to vendor fields)', async () => {
    const made = await req('POST', '/v1/destinations', bearer(t.token), {
      name: 'Brevo',
      type: 'brevo',
      config: { apiKey: 'xkeysib-secret', attributes: { firstName: 'FNAME', phone: 'SMS' } },
      subscription: { profiles: true },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const seen = await req('GET', `/v1/destinations/${made.body.id}`, asCookie('marketer'));
    expect(seen.body.config.attributes).toMatchObject({ firstName: 'FNAME', phone: 'SMS' });
  });

  it('masks a field the DPO classifies, and stops masking one declassified', async () => {
    const put = await req('PUT', '/v1/settings/pii-classes', asCookie('dpo'), {
      fields: { plan: 'other', firstName: 'none' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.version).toBe(1);
    const refused = await req('PUT', '/v1/settings/pii-classes', asCookie('marketer'), { fields: {} });
    expect(refused.status).toBe(403);
    const profile = (await req('GET', `/v1/profiles/${profileId}`, asCookie('marketer'))).body;
    expect(profile.traits.plan).toBe('***');
    expect(profile.traits.firstName).toBe('Jeanne');
    expect(profile.traits.lastName).toBe('M***');
  });

  it('records every profile read by a person and every change in the audit log, readable by the DPO', async () => {
    await req('GET', `/v1/profiles/${profileId}`, asCookie('marketer'));
    await req('GET', '/v1/profiles/by/email/jeanne.martin@example.com', asCookie('analyst'));
    await req('GET', '/v1/profiles?limit=10', asCookie('analyst'));
    await req('PUT', '/v1/settings/retention', asCookie('dpo'), { rules: [] });
    const reads = await req('GET', `/v1/audit-log?profile=${profileId}&action=profile.read`, asCookie('dpo'));
    expect(reads.status).toBe(200);
    const actors = reads.body.items.map((e: Json) => e.actor);
    expect(actors).toContain(userIds.marketer);
    expect(actors.filter((a: string) => a === userIds.analyst)).toHaveLength(2);
    expect(reads.body.items[0]).toMatchObject({ action: 'profile.read', profileId, status: 200 });
    const changes = await req('GET', `/v1/audit-log?actor=${userIds.dpo}`, asCookie('dpo'));
    expect(changes.body.items.map((e: Json) => e.action)).toContain('PUT /v1/settings/retention');
    const signIns = await req('GET', '/v1/audit-log?action=session.create&limit=2', bearer(t.token));
    expect(signIns.body.items).toHaveLength(2);
    expect(signIns.body.nextCursor).not.toBeNull();
    const next = await req(
      'GET',
      `/v1/audit-log?action=session.create&cursor=${signIns.body.nextCursor}`,
      bearer(t.token),
    );
    expect(next.body.items).toHaveLength(2);
    // The log never keeps an identifier value from a URL.
    const all = await req('GET', '/v1/audit-log?limit=1000', asCookie('dpo'));
    expect(JSON.stringify(all.body)).not.toContain('jeanne.martin');
    expect((await req('GET', '/v1/audit-log', asCookie('marketer'))).status).toBe(403);
  });

  it('keeps the audit rows of an erased person without naming them', async () => {
    await req('GET', `/v1/profiles/${profileId}`, asCookie('marketer'));
    await req('POST', `/v1/profiles/${profileId}/consents`, asCookie('marketer'), {
      purpose: 'marketing',
      granted: true,
    });
    const erase = await req('POST', '/v1/privacy/requests', asCookie('dpo'), {
      type: 'erase',
      identifier: { type: 'user_id', value: 'u-42' },
    });
    expect(erase.status).toBe(201);
    await t.app.privacy.idle();
    expect((await req('GET', `/v1/audit-log?profile=${profileId}`, asCookie('dpo'))).body.items).toEqual([]);
    const byMarketer = await req('GET', `/v1/audit-log?actor=${userIds.marketer}`, asCookie('dpo'));
    expect(byMarketer.body.items.some((e: Json) => e.action === 'profile.read' && e.profileId === null)).toBe(true);
    const change = byMarketer.body.items.find((e: Json) => e.action === 'POST /v1/profiles/:id/consents');
    expect(change).toMatchObject({ profileId: null, target: null, status: 201 });
    expect(JSON.stringify(byMarketer.body)).not.toContain(profileId);
  });

  it('limits failed sign-ins per e-mail, answering 429 with Retry-After even to the right password', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await signIn('analyst@tessera.test', 'wrong password!');
      expect(r.status).toBe(401);
      expect(r.body.error.message).toBe('wrong e-mail or password');
    }
    const blocked = await signIn('analyst@tessera.test', PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    // Another account is not blocked; an unknown e-mail answers like a wrong password.
    expect((await signIn('dpo@tessera.test', PASSWORD)).status).toBe(201);
    expect((await signIn('nobody@tessera.test', PASSWORD)).body.error.message).toBe('wrong e-mail or password');
  });

  it('ignores a session cookie on a cross-site change, and accepts it from the same origin', async () => {
    const body = { rules: [] };
    const cross = await req(
      'PUT',
      '/v1/settings/retention',
      { ...asCookie('dpo'), 'sec-fetch-site': 'cross-site' },
      body,
    );
    expect(cross.status).toBe(401);
    const evil = await req(
      'PUT',
      '/v1/settings/retention',
      { ...asCookie('dpo'), origin: 'http://evil.example' },
      body,
    );
    expect(evil.status).toBe(401);
    const same = await req(
      'PUT',
      '/v1/settings/retention',
      { ...asCookie('dpo'), 'sec-fetch-site': 'same-origin' },
      body,
    );
    expect(same.status).toBe(200);
  });

  it('ends sessions on sign-out, on a password change and when the user is disabled', async () => {
    expect((await req('DELETE', '/v1/sessions/current', asCookie('analyst'))).status).toBe(204);
    expect((await req('GET', '/v1/me', asCookie('analyst'))).status).toBe(401);
    const minted = (await req('POST', '/v1/tokens', asCookie('marketer'), { name: 'm', roles: ['marketer'] })).body
      .token;
    const patched = await req('PATCH', `/v1/users/${userIds.marketer}`, bearer(t.token), {
      password: 'a new password 1',
    });
    expect(patched.status).toBe(200);
    expect((await req('GET', '/v1/me', asCookie('marketer'))).status).toBe(401);
    // A token a (possibly stolen) session minted ends with the password too.
    expect((await req('GET', '/v1/me', bearer(minted))).status).toBe(401);
    expect((await signIn('marketer@tessera.test', PASSWORD)).status).toBe(401);
    expect((await signIn('marketer@tessera.test', 'a new password 1')).status).toBe(201);
    const token = (await req('POST', '/v1/tokens', asCookie('dpo'), { name: 'dpo script', roles: ['dpo'] })).body.token;
    await req('PATCH', `/v1/users/${userIds.dpo}`, bearer(t.token), { disabled: true });
    expect((await req('GET', '/v1/me', asCookie('dpo'))).status).toBe(401);
    expect((await req('GET', '/v1/me', bearer(token))).status).toBe(401);
    expect((await signIn('dpo@tessera.test', PASSWORD)).status).toBe(401);
  });

  it('refuses a token holding a role one does not hold, a duplicate user, and losing the last admin', async () => {
    const r = await req('POST', '/v1/tokens', asCookie('marketer'), { name: 'x', roles: ['admin'] });
    expect(r.status).toBe(403);
    const dup = await req('POST', '/v1/users', bearer(t.token), {
      email: 'Analyst@Tessera.test',
      name: 'again',
      password: PASSWORD,
      roles: ['analyst'],
    });
    expect(dup.status).toBe(409);
    const short = await req('POST', '/v1/users', bearer(t.token), {
      email: 'x@tessera.test',
      name: 'x',
      password: 'short',
      roles: ['analyst'],
    });
    expect(short.status).toBe(400);
    const last = await req('PATCH', `/v1/users/${userIds.admin}`, bearer(t.token), { roles: ['analyst'] });
    expect(last.status).toBe(409);
    // A user's revoked token stops at once; another user cannot revoke it.
    const mine = (await req('POST', '/v1/tokens', asCookie('analyst'), { name: 'a', roles: ['analyst'] })).body;
    expect((await req('DELETE', `/v1/tokens/${mine.id}`, asCookie('marketer'))).status).toBe(404);
    expect((await req('GET', '/v1/tokens', asCookie('analyst'))).body.items.map((x: Json) => x.id)).toEqual([mine.id]);
    expect((await req('DELETE', `/v1/tokens/${mine.id}`, asCookie('analyst'))).status).toBe(204);
    expect((await req('GET', '/v1/me', bearer(mine.token))).status).toBe(401);
    // An admin user hands out any role: the token acts with it.
    const scoped = (await req('POST', '/v1/tokens', asCookie('admin'), { name: 'script', roles: ['marketer'] })).body;
    const me = await req('GET', '/v1/me', bearer(scoped.token));
    expect(me.body).toMatchObject({ kind: 'token', roles: ['marketer'], seesPii: false });
    expect((await req('GET', '/v1/users', bearer(scoped.token))).status).toBe(403);
  });
});

/**
 * The personalisation endpoint (issue 5): a per-source read key, CORS per source origin, only the allow-listed traits
 * and audience keys, answered from stored rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudienceJob } from '../audiences/recompute.js';
import { call, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

const SHOP = 'https://shop.example';
let t: TestApp;
let readKey: string;
const iso = (ms: number) => new Date(ms).toISOString();

async function personalize(query: string, headers: Record<string, string> = {}) {
  const res = await t.app.http.inject({ method: 'GET', url: `/v1/personalize?${query}`, headers });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

beforeAll(async () => {
  t = await createTestApp();
  const now = Date.now();
  await t.app.audiences.create(
    { key: 'vip', name: 'VIP', definition: { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } } },
    'tok_test',
  );
  await t.app.audiences.create(
    { key: 'secret', name: 'Hidden', definition: { type: 'trait', key: 'plan', compare: { op: 'exists' } } },
    'tok_test',
  );
  await runAudienceJob(t.app.storage);
  await step(t, [
    {
      type: 'identify',
      userId: 'u1',
      anonymousId: 'anon-1',
      traits: { plan: 'gold', firstName: 'Ada', email: 'ada@example.com' },
      messageId: 'm1',
      timestamp: iso(now),
    },
    { type: 'page', anonymousId: 'anon-2', name: 'Home', messageId: 'm2', timestamp: iso(now) },
    // anon-2 logs in as u1 later: its profile is merged into u1's.
    { type: 'identify', userId: 'u1', anonymousId: 'anon-2', messageId: 'm3', timestamp: iso(now + 1) },
  ]);
  const r = await call(t, 'PUT', `/v1/sources/${t.sourceId}/personalization`, {
    origins: [SHOP, 'http://localhost:8080'],
    traits: ['plan', 'firstName', 'missing'],
    audiences: ['vip'],
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  readKey = r.body.readKey;
  expect(readKey).toMatch(/^rk_/);
});
afterAll(() => t.app.close());

describe('GET /v1/personalize', () => {
  it('answers the allow-listed traits and audiences of a known visitor, by user id or anonymous id', async () => {
    for (const query of ['userId=u1', 'anonymousId=anon-1', 'anonymousId=anon-2']) {
      const r = await personalize(`${query}&key=${readKey}`);
      expect(r.status, query).toBe(200);
      expect(r.body).toMatchObject({ known: true, traits: { plan: 'gold', firstName: 'Ada' } });
      // The e-mail is not allow-listed; the `secret` audience neither.
      expect(Object.keys(r.body.traits).sort()).toEqual(['firstName', 'plan']);
      expect(r.body.audiences.map((a: { key: string }) => a.key)).toEqual(['vip']);
      expect(Date.parse(r.body.audiences[0].enteredAt)).toBeGreaterThan(0);
      expect(r.headers['cache-control']).toBe('private, no-store');
    }
  });

  it('answers known: false for an unknown visitor', async () => {
    const r = await personalize(`userId=nobody&key=${readKey}`);
    expect(r).toMatchObject({ status: 200, body: { known: false, traits: {}, audiences: [] } });
  });

  it('takes the key as a header or as Basic auth too', async () => {
    expect((await personalize('userId=u1', { 'x-tessera-key': readKey })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`${readKey}:`).toString('base64')}`;
    expect((await personalize('userId=u1', { authorization: basic })).status).toBe(200);
  });

  it.each([
    ['no key', 'userId=u1', 401, 'unauthorized'],
    ['an unknown key', 'userId=u1&key=rk_nope', 401, 'unauthorized'],
    ['both identifiers', 'userId=u1&anonymousId=anon-1&key=KEY', 400, 'invalid_request'],
    ['no identifier', 'key=KEY', 400, 'invalid_request'],
  ])('refuses %s', async (_, query, status, code) => {
    const r = await personalize(query.replace('KEY', readKey));
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
  });

  it('refuses a write key as a read key, and a read key on the management API', async () => {
    expect((await personalize(`userId=u1&key=${t.writeKey}`)).status).toBe(401);
    const res = await t.app.http.inject({
      method: 'GET',
      url: '/v1/profiles?q=ada',
      headers: { authorization: `Bearer ${readKey}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it('allows browser calls from the source’s origins only (CORS)', async () => {
    const ok = await personalize(`userId=u1&key=${readKey}`, { origin: SHOP });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(SHOP);
    expect(ok.headers.vary).toBe('Origin');
    const other = await personalize(`userId=u1&key=${readKey}`, { origin: 'https://evil.example' });
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();

    const preflight = (origin: string) =>
      t.app.http.inject({
        method: 'OPTIONS',
        url: '/v1/personalize?userId=u1',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-tessera-key' },
      });
    const allowed = await preflight(SHOP);
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': SHOP,
      'access-control-allow-headers': 'x-tessera-key, authorization',
    });
    const refused = await preflight('https://evil.example');
    expect(refused.statusCode).toBe(204);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('read-key settings', () => {
  it('shows the settings without the key, and changes them without a new key', async () => {
    const shown = await t.get(`/v1/sources/${t.sourceId}/personalization`);
    expect(shown.body).toEqual({
      origins: [SHOP, 'http://localhost:8080'],
      traits: ['plan', 'firstName', 'missing'],
      audiences: ['vip'],
      hasKey: true,
    });
    const r = await call(t, 'PUT', `/v1/sources/${t.sourceId}/personalization`, {
      origins: [SHOP],
      traits: ['plan'],
      audiences: ['vip', 'secret'],
    });
    expect(r.status).toBe(200);
    expect(r.body.readKey).toBeUndefined();
    const answer = await personalize(`userId=u1&key=${readKey}`);
    expect(answer.body.traits).toEqual({ plan: 'gold' });
    expect(answer.body.audiences.map((a: { key: string }) => a.key)).toEqual(['secret', 'vip']);
  });

  it.each([
    [{ origins: ['shop.example'] }, 'origins.0'],
    [{ origins: ['https://shop.example/path'] }, 'origins.0'],
    [{ traits: 'plan' }, 'traits'],
    [{ audiences: ['not a key'] }, 'audiences.0'],
    [{ colours: [] }, 'colours'],
  ])('refuses %j naming %s', async (body, field) => {
    const r = await call(t, 'PUT', `/v1/sources/${t.sourceId}/personalization`, body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain(`invalid personalization settings: ${field}:`);
  });

  it('rotates the read key: the old one stops working at once', async () => {
    const r = await call(t, 'POST', `/v1/sources/${t.sourceId}/read-key`);
    expect(r.status).toBe(200);
    expect(r.body.readKey).toMatch(/^rk_/);
    expect((await personalize(`userId=u1&key=${readKey}`)).status).toBe(401);
    expect((await personalize(`userId=u1&key=${r.body.readKey}`)).status).toBe(200);
    readKey = r.body.readKey;
  });

  it('is for admins (settings) and marketers (reading them) only', async () => {
    const { token } = await t.app.tokens.create('analyst', ['analyst']);
    const res = await t.app.http.inject({
      method: 'GET',
      url: `/v1/sources/${t.sourceId}/personalization`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(403);
  });
});

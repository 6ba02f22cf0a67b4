import { gzipSync } from 'node:zlib';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * Hostile and broken input on the HTTP API (DESIGN §9): each case sends one bad request through `app.http.inject`,
 * checks the answer (status and error body, or the quarantine of the bad event), then checks that the server still
 * accepts a good batch and that what it stored before is intact.
 */

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const TIME = '2026-01-01T12:00:00.000Z';
const good = (messageId: string) => ({ type: 'track', userId: 'u-ok', event: 'Viewed', messageId, timestamp: TIME });

/** An object nested `levels` deep: `nest(1)` is `{}`. */
function nest(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}
function manyKeys(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
}

interface Case {
  name: string;
  request: (t: TestApp) => InjectOptions;
  expect: (res: LightMyRequestResponse, t: TestApp) => Promise<void> | void;
}

function batch(t: TestApp, body: unknown, headers: Record<string, string> = {}): InjectOptions {
  return {
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: basic(t.writeKey), 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  };
}

const STATUS_OF_CODE: Record<string, number> = {
  invalid_json: 400,
  invalid_utf8: 400,
  invalid_body: 400,
  invalid_encoding: 400,
  too_deep: 400,
  too_many_keys: 400,
  no_valid_events: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
};

interface QuarantinedItem {
  index: number;
  messageId: string | null;
  code: string;
  reason: string;
}
interface ErrorBody {
  code: string;
  message: string;
  requestId: string;
  details?: { quarantined?: QuarantinedItem[]; limit?: number };
}
const messageIds = (items: { messageId: string }[]) => items.map((e) => e.messageId);
const names = (items: { name: string }[]) => items.map((e) => e.name);

/** DESIGN §9's error body: `{error: {code, message, requestId}}` (plus optional safe `details`). */
function expectError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  for (const k of Object.keys(body.error)) expect(['code', 'message', 'requestId', 'details']).toContain(k);
  // Never a stack trace or the body echoed back.
  expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  return body.error as ErrorBody;
}

const cases: Case[] = [
  {
    name: 'malformed JSON → 400 invalid_json',
    request: (t) => batch(t, '{"batch": [{"type": "track", '),
    expect: (res) => {
      const e = expectError(res, 400, 'invalid_json');
      expect(e.message).not.toContain('"type"');
    },
  },
  {
    name: 'a gzip bomb (50 MB of zeros) → 413 payload_too_large, measured decompressed',
    request: (t) => batch(t, gzipSync(Buffer.alloc(50 * 1024 * 1024)), { 'content-encoding': 'gzip' }),
    expect: (res) => {
      expect(res.rawPayload.length).toBeLessThan(2_000);
      expectError(res, 413, 'payload_too_large');
    },
  },
  {
    name: 'a 600 KB plain body → 413 payload_too_large',
    request: (t) => batch(t, { batch: [{ ...good('big'), properties: { blob: 'x'.repeat(600 * 1024) } }] }),
    expect: (res) => {
      expectError(res, 413, 'payload_too_large');
    },
  },
  {
    name: 'a body over the route limit (5 MB) → 413 payload_too_large',
    request: (t) => batch(t, `{"batch":[],"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`),
    expect: (res) => {
      expectError(res, 413, 'payload_too_large');
    },
  },
  {
    name: 'corrupt gzip → 400 invalid_encoding',
    request: (t) =>
      batch(t, Buffer.concat([gzipSync(Buffer.from('{"batch":[]}')).subarray(0, 12), Buffer.from('garbage!')]), {
        'content-encoding': 'gzip',
      }),
    expect: (res) => {
      expectError(res, 400, 'invalid_encoding');
    },
  },
  {
    name: 'an unknown content encoding → 415 unsupported_media_type',
    request: (t) => batch(t, { batch: [good('x')] }, { 'content-encoding': 'br' }),
    expect: (res) => {
      expectError(res, 415, 'unsupported_media_type');
    },
  },
  {
    name: 'a 40 KB event inside a batch is quarantined (event_too_large); the others are accepted',
    request: (t) =>
      batch(t, {
        batch: [good('small-1'), { ...good('huge'), properties: { blob: 'x'.repeat(40 * 1024) } }, good('small-2')],
      }),
    async expect(res, t) {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        success: true,
        accepted: 2,
        duplicates: 0,
        quarantined: [
          { index: 1, messageId: 'huge', code: 'event_too_large', reason: expect.stringMatching(/limit is 32768/) },
        ],
      });
      await t.app.drain();
      const p = await t.get('/v1/profiles/by/user_id/u-ok');
      const events = await t.get(`/v1/profiles/${p.body.id}/events`);
      expect(messageIds(events.body.items).sort()).toEqual(['small-1', 'small-2']);
      await t.app.drain(); // refused calls reach the quarantine table through the pipeline
      const q = await t.get('/v1/sources/web/quarantine');
      expect(q.body.items).toMatchObject([{ code: 'event_too_large', messageId: 'huge', status: 'open' }]);
    },
  },
  {
    name: 'no credentials → 401 unauthorized',
    request: (t) => ({ ...batch(t, { batch: [good('x')] }), headers: { 'content-type': 'application/json' } }),
    expect: (res) => {
      expectError(res, 401, 'unauthorized');
    },
  },
  {
    name: 'an unknown write key (Basic) → 401 unauthorized',
    request: (t) => batch(t, { batch: [good('x')] }, { authorization: basic('wk_not-a-real-key') }),
    expect: (res) => {
      expectError(res, 401, 'unauthorized');
    },
  },
  {
    name: 'an unknown writeKey in the body → 401 unauthorized',
    request: (t) => ({
      ...batch(t, { writeKey: 'wk_not-a-real-key', batch: [good('x')] }),
      headers: { 'content-type': 'application/json' },
    }),
    expect: (res) => {
      expectError(res, 401, 'unauthorized');
    },
  },
  {
    name: 'a valid Bearer token on /v1/batch without a write key → 401 unauthorized',
    request: (t) => batch(t, { batch: [good('x')] }, { authorization: `Bearer ${t.token}` }),
    expect: (res) => {
      expectError(res, 401, 'unauthorized');
    },
  },
  {
    name: 'an unknown Bearer token on the management API → 401 unauthorized',
    request: () => ({ method: 'GET', url: '/v1/profiles', headers: { authorization: 'Bearer tk_nope' } }),
    expect: (res) => {
      expectError(res, 401, 'unauthorized');
    },
  },
  {
    name: 'a management call with a write key → 401 or 403',
    request: (t) => ({ method: 'GET', url: '/v1/profiles', headers: { authorization: basic(t.writeKey) } }),
    expect: (res) => {
      expect([401, 403]).toContain(res.statusCode);
      const e = expectError(res, res.statusCode, res.statusCode === 401 ? 'unauthorized' : 'forbidden');
      expect(STATUS_OF_CODE[e.code]).toBe(res.statusCode);
    },
  },
  {
    name: 'a wrong type (event: 5) is quarantined as schema_invalid; the valid event is accepted',
    request: (t) => batch(t, { batch: [{ ...good('bad-type'), event: 5 }, good('fine')] }),
    async expect(res, t) {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        success: true,
        accepted: 1,
        duplicates: 0,
        quarantined: [{ index: 0, messageId: 'bad-type', code: 'schema_invalid', reason: '/event: Expected string' }],
      });
      await t.app.drain(); // refused calls reach the quarantine table through the pipeline
      const q = await t.get('/v1/sources/web/quarantine');
      expect(q.body.items).toMatchObject([{ code: 'schema_invalid', messageId: 'bad-type', payload: { event: 5 } }]);
    },
  },
  {
    name: 'a batch where every event is invalid → 400 no_valid_events, each one quarantined',
    request: (t) =>
      batch(t, {
        batch: [
          { ...good('b1'), event: 5 },
          { type: 'track', event: 'No Identity', messageId: 'b2' },
          { ...good('b3'), type: 'explode' },
          'not an object',
        ],
      }),
    async expect(res, t) {
      const e = expectError(res, 400, 'no_valid_events');
      expect((e.details?.quarantined ?? []).map((q) => [q.index, q.messageId, q.code])).toEqual([
        [0, 'b1', 'schema_invalid'],
        [1, 'b2', 'missing_identity'],
        [2, 'b3', 'schema_invalid'],
        [3, null, 'schema_invalid'],
      ]);
      await t.app.drain(); // refused calls reach the quarantine table through the pipeline
      const q = await t.get('/v1/sources/web/quarantine');
      expect(q.body.items).toHaveLength(4);
    },
  },
  {
    name: 'an empty batch → 200 with nothing accepted',
    request: (t) => batch(t, { batch: [] }),
    expect: (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ success: true, accepted: 0, duplicates: 0, quarantined: [] });
    },
  },
  {
    name: '"batch" that is not an array → 400 invalid_body',
    request: (t) => batch(t, { batch: { type: 'track' } }),
    expect: (res) => {
      expectError(res, 400, 'invalid_body');
    },
  },
  {
    name: 'a JSON body that is not an object → 400 invalid_body',
    request: (t) => batch(t, '[1, 2, 3]'),
    expect: (res) => {
      expectError(res, 400, 'invalid_body');
    },
  },
  {
    name: 'an object 40 levels deep in a batch → 400 too_deep for the whole request',
    request: (t) => batch(t, { batch: [{ ...good('deep'), properties: nest(40) }] }),
    expect: (res) => {
      const e = expectError(res, 400, 'too_deep');
      expect(e.details).toEqual({ limit: 34 });
    },
  },
  {
    name: 'a single call 33 levels deep (/v1/track) is quarantined as too_deep → 400 no_valid_events',
    request: (t) => ({ ...batch(t, { ...good('deep'), properties: nest(32) }), url: '/v1/track' }),
    expect: (res) => {
      const e = expectError(res, 400, 'no_valid_events');
      expect(e.details?.quarantined).toMatchObject([{ index: 0, messageId: 'deep', code: 'too_deep' }]);
    },
  },
  {
    name: 'an event with 20,000 keys is quarantined as too_many_keys; the valid event is accepted',
    request: (t) => batch(t, { batch: [good('fine'), { ...good('keys'), properties: manyKeys(20_000) }] }),
    expect: (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        accepted: 1,
        quarantined: [{ index: 1, messageId: 'keys', code: 'too_many_keys' }],
      });
    },
  },
  {
    name: 'invalid UTF-8 bytes → 400 invalid_utf8',
    request: (t) =>
      batch(
        t,
        Buffer.concat([
          Buffer.from('{"batch":[{"type":"track","userId":"u-ok","event":"'),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('"}]}'),
        ]),
      ),
    expect: (res) => {
      expectError(res, 400, 'invalid_utf8');
    },
  },
  {
    name: 'a management body with a wrong type (name: 5) → 400 invalid_request, nothing created',
    request: (t) => ({
      method: 'POST',
      url: '/v1/sources',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      payload: '{"name": 5}',
    }),
    async expect(res, t) {
      expectError(res, 400, 'invalid_request');
      expect(names((await t.get('/v1/sources')).body.items)).toEqual(['web']);
    },
  },
  {
    name: 'a management body with an unknown field (a typo) → 400 invalid_request, nothing created',
    request: (t) => ({
      method: 'POST',
      url: '/v1/sources',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'shop', mappings: { event: '$.type' } }),
    }),
    async expect(res, t) {
      expectError(res, 400, 'invalid_request');
      expect(names((await t.get('/v1/sources')).body.items)).toEqual(['web']);
    },
  },
  {
    name: 'malformed JSON on the management API → 400 invalid_json',
    request: (t) => ({
      method: 'POST',
      url: '/v1/sources',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      payload: '{"name": ',
    }),
    expect: (res) => {
      expectError(res, 400, 'invalid_json');
    },
  },
  {
    name: 'an unknown route → 404 not_found with the error body',
    request: (t) => ({ ...batch(t, {}), url: '/v1/nothing-here' }),
    expect: (res) => {
      expectError(res, 404, 'not_found');
    },
  },
];

let t: TestApp;
let seedProfile: string;
let counter = 0;
beforeEach(async () => {
  t = await createTestApp();
  const r = await t.send([
    {
      type: 'identify',
      userId: 'seed',
      messageId: 'seed-1',
      timestamp: TIME,
      traits: { email: 'seed@example.com', plan: 'pro' },
    },
  ]);
  expect(r.status).toBe(200);
  await t.app.drain();
  seedProfile = (await t.get('/v1/profiles/by/user_id/seed')).body.id;
});
afterEach(async () => {
  await t.app.close();
});

/** The server still takes a good batch, and the profile stored before the bad request is intact. */
async function stillHealthy() {
  const messageId = `after-${++counter}`;
  const r = await t.send([{ type: 'track', userId: 'seed', event: 'Still Here', messageId, timestamp: TIME }]);
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ success: true, accepted: 1, duplicates: 0, quarantined: [] });
  await t.app.drain();
  const p = await t.get('/v1/profiles/by/user_id/seed');
  expect(p.status).toBe(200);
  expect(p.body.id).toBe(seedProfile);
  expect(p.body.traits).toEqual({ email: 'seed@example.com', plan: 'pro' });
  expect(p.body.identities).toEqual([
    { type: 'email', value: 'seed@example.com' },
    { type: 'user_id', value: 'seed' },
  ]);
  const events = await t.get(`/v1/profiles/${seedProfile}/events`);
  expect(messageIds(events.body.items)).toEqual(expect.arrayContaining(['seed-1', messageId]));
}

describe('bad input on the HTTP API', () => {
  it.each(cases)('$name', async (c) => {
    const res = await t.app.http.inject(c.request(t));
    await c.expect(res, t);
    await stillHealthy();
  });

  it('many bad requests in a row leave the server serving', async () => {
    for (const c of cases) await t.app.http.inject(c.request(t));
    await stillHealthy();
  });
});

/**
 * Inbound webhooks (`POST /v1/webhooks/{sourceId}`, docs/mapping.md "Example 3"), in process through
 * `app.http.inject`: a webhook source is created with the example mapping, the example body is posted with each of
 * the three ways to give the write key, and the mapped profiles and events are read back through the profile API.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const readExample = (name: string) => JSON.parse(readFileSync(`${REPO_ROOT}examples/${name}`, 'utf8'));
const LOYALTY_MAPPING: Record<string, unknown> = readExample('loyalty-mapping.json');
const LOYALTY_BODY: { items: Record<string, unknown>[] } = readExample('loyalty-webhook.json');

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
/** A UUID-shaped id of version 8 (deriveMessageId). */
const DERIVED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked by the assertions
type Json = any;

interface Created {
  id: string;
  name: string;
  kind: string;
  mapping: unknown;
  writeKey: string;
}

async function admin(t: TestApp, method: 'POST' | 'PUT', url: string, payload: unknown) {
  const res = await t.app.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
  return { status: res.statusCode, body: res.json() };
}

async function createSource(t: TestApp, name: string, mapping?: unknown): Promise<Created> {
  const res = await admin(t, 'POST', '/v1/sources', { name, kind: 'webhook', ...(mapping ? { mapping } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Created;
}

type Auth = 'basic' | 'header' | 'query' | 'none';

function post(t: TestApp, sourceId: string, body: unknown, key: string, auth: Auth): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth === 'basic') headers.authorization = basic(key);
  if (auth === 'header') headers['x-tessera-key'] = key;
  const query = auth === 'query' ? `?key=${encodeURIComponent(key)}` : '';
  return t.app.http.inject({
    method: 'POST',
    url: `/v1/webhooks/${sourceId}${query}`,
    headers,
    payload: JSON.stringify(body),
  });
}

/** The answer of a refused request: status and `error.code`. */
function refusal(res: LightMyRequestResponse) {
  const body = res.json();
  return { status: res.statusCode, code: body.error?.code, message: String(body.error?.message ?? '') };
}

/** The profile holding an identifier and its timeline. */
async function profileWithEvents(t: TestApp, type: string, value: string) {
  const profile = await t.get(`/v1/profiles/by/${type}/${encodeURIComponent(value)}`);
  expect(profile.status, `${type} ${value}: ${JSON.stringify(profile.body)}`).toBe(200);
  const events = await t.get(`/v1/profiles/${profile.body.id}/events`);
  expect(events.status).toBe(200);
  return { profile: profile.body, events: events.body.items as Json[] };
}

describe('POST /v1/webhooks/{sourceId} with examples/loyalty-mapping.json', () => {
  let t: TestApp;
  let loyalty: Created;

  beforeAll(async () => {
    t = await createTestApp();
    loyalty = await createSource(t, 'loyalty', LOYALTY_MAPPING);
  });
  afterAll(async () => {
    await t?.app.close();
  });

  it('creates a webhook source with the mapping and a write key', async () => {
    expect(loyalty).toMatchObject({ name: 'loyalty', kind: 'webhook', mapping: LOYALTY_MAPPING });
    expect(loyalty.id).toMatch(/^src_/);
    expect(loyalty.writeKey).toMatch(/^wk_/);
    const list = await t.get('/v1/sources');
    expect(list.body.items.find((s: { id: string }) => s.id === loyalty.id)).toMatchObject({
      name: 'loyalty',
      kind: 'webhook',
      mapping: LOYALTY_MAPPING,
    });
  });

  it('refuses a missing or unknown key (401) and another source’s key (403)', async () => {
    expect(refusal(await post(t, loyalty.id, LOYALTY_BODY, '', 'none'))).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    for (const auth of ['basic', 'header', 'query'] as const) {
      expect(refusal(await post(t, loyalty.id, LOYALTY_BODY, 'wk_not-a-key', auth)), auth).toMatchObject({
        status: 401,
        code: 'unauthorized',
      });
      // The test app's `web` source: a valid key, for another source.
      expect(refusal(await post(t, loyalty.id, LOYALTY_BODY, t.writeKey, auth)), auth).toMatchObject({
        status: 403,
        code: 'forbidden',
      });
    }
  });

  it('accepts the example body (Basic auth), then answers duplicates to the same body (header, ?key=)', async () => {
    const first = await post(t, loyalty.id, LOYALTY_BODY, loyalty.writeKey, 'basic');
    expect(first.statusCode, first.body).toBe(200);
    const answer = first.json();
    expect(answer).toMatchObject({ success: true, accepted: 2, duplicates: 0 });
    // The third item has no identifier: quarantined by the mapping, at its position in the body.
    expect(answer.quarantined).toHaveLength(1);
    expect(answer.quarantined[0]).toMatchObject({ index: 2, messageId: null, code: 'mapping_failed' });
    expect(answer.quarantined[0].reason).toMatch(/^identifiers\b/);

    // Exactly-once effects: once processed, a redelivery finds its (source, messageId) keys and adds nothing.
    await t.app.drain();
    for (const auth of ['header', 'query'] as const) {
      const again = await post(t, loyalty.id, LOYALTY_BODY, loyalty.writeKey, auth);
      expect(again.statusCode, `${auth}: ${again.body}`).toBe(200);
      expect(again.json(), auth).toMatchObject({ success: true, accepted: 0, duplicates: 2 });
    }
    await t.app.drain();
  });

  it('builds the mapped profiles and events (after drain)', async () => {
    const marie = await profileWithEvents(t, 'email', 'marie.dupont@example.com');
    // Identifiers from `context.traits.email` and `context.externalIds`, normalised (the wallet lower-cased).
    expect(marie.profile.identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'marie.dupont@example.com' },
        { type: 'loyalty_card', value: 'LC-0042-7781' },
        { type: 'wallet', value: '0x8ba1f109551bd432803012645ac136ddd64dba72' },
      ]),
    );
    expect(marie.profile.traits).toMatchObject({ email: 'marie.dupont@example.com' });
    // The same profile is found by each of its identifiers.
    for (const [type, value] of [
      ['loyalty_card', 'LC-0042-7781'],
      ['wallet', '0x8ba1f109551bD432803012645Ac136ddd64DBA72'],
    ]) {
      expect((await t.get(`/v1/profiles/by/${type}/${value}`)).body.id, type).toBe(marie.profile.id);
    }
    // Three deliveries of the body, one event per item.
    expect(marie.events).toHaveLength(1);
    expect(marie.events[0]).toMatchObject({
      type: 'track',
      event: 'Loyalty Points Earned',
      messageId: 'lp_901',
      timestamp: '2024-03-09T17:02:11.000Z',
      sourceId: loyalty.id,
      properties: { points: 120, reason: 'purchase', order_id: 'SO-2024-0006' },
    });

    const card = await profileWithEvents(t, 'loyalty_card', 'LC-0043-1120');
    expect(card.profile.id).not.toBe(marie.profile.id);
    expect(card.profile.identities).toEqual([{ type: 'loyalty_card', value: 'LC-0043-1120' }]);
    expect(card.events).toHaveLength(1);
    // `"50"` converted by the mapping's `type: number`; no `order`, so no `order_id`.
    expect(card.events[0]).toMatchObject({
      event: 'Loyalty Points Earned',
      messageId: 'lp_902',
      timestamp: '2024-03-09T18:40:00.000Z',
      properties: { points: 50, reason: 'review' },
    });
    expect(card.events[0].properties).not.toHaveProperty('order_id');
  });

  it('answers 400 no_valid_events with details.quarantined when no record maps', async () => {
    const body = {
      items: [
        { id: 'lp_990', occurredAt: '2024-03-10T10:00:00Z', member: {}, points: 1, reason: 'none' },
        { id: 'lp_991', occurredAt: '2024-03-10T10:00:00Z', member: { card: 'LC-0099' }, points: 'lots' },
      ],
    };
    const res = await post(t, loyalty.id, body, loyalty.writeKey, 'basic');
    expect(refusal(res)).toMatchObject({ status: 400, code: 'no_valid_events' });
    const quarantined = res.json().error.details?.quarantined;
    expect(quarantined).toHaveLength(2);
    expect(quarantined[0]).toMatchObject({ index: 0, messageId: null, code: 'mapping_failed' });
    expect(quarantined[0].reason).toMatch(/^identifiers\b/);
    expect(quarantined[1]).toMatchObject({ index: 1, messageId: null, code: 'mapping_failed' });
    expect(quarantined[1].reason).toMatch(/^properties\.points\b/);
    // Reasons carry field paths, never the value.
    expect(quarantined[1].reason).not.toContain('lots');
    await t.app.drain();
    expect((await t.get('/v1/profiles/by/loyalty_card/LC-0099')).status).toBe(404);
  });

  it('answers 409 to a source without mapping, until PUT /v1/sources/{id}/mapping sets one', async () => {
    // The test app's `web` source was created without a mapping.
    const res = await post(t, t.sourceId, LOYALTY_BODY, t.writeKey, 'header');
    expect(refusal(res)).toMatchObject({ status: 409, code: 'conflict' });
    expect(refusal(res).message).toContain('mapping');

    const put = await admin(t, 'PUT', `/v1/sources/${t.sourceId}/mapping`, LOYALTY_MAPPING);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ id: t.sourceId, name: 'web', mapping: LOYALTY_MAPPING });
    const now = await post(t, t.sourceId, LOYALTY_BODY, t.writeKey, 'header');
    expect(now.statusCode, now.body).toBe(200);
    // Dedup is per source: the same message ids on another source are new.
    expect(now.json()).toMatchObject({ success: true, accepted: 2, duplicates: 0 });
  });

  it('refuses an invalid mapping with 400 invalid_request naming the field, and keeps the old one', async () => {
    const cases: [unknown, string][] = [
      [{ ...LOYALTY_MAPPING, event: undefined }, 'event'],
      [{ ...LOYALTY_MAPPING, properties: { points: { from: 'points', type: 'integer' } } }, 'properties.points.type'],
      [{ ...LOYALTY_MAPPING, propertes: {} }, 'propertes'],
      [{ ...LOYALTY_MAPPING, identifiers: {} }, 'identifiers'],
    ];
    for (const [mapping, field] of cases) {
      const res = await admin(t, 'PUT', `/v1/sources/${loyalty.id}/mapping`, mapping);
      expect(res.status, field).toBe(400);
      expect(res.body.error.code, field).toBe('invalid_request');
      expect(res.body.error.message, field).toMatch(new RegExp(`^invalid mapping: ${field.replaceAll('.', '\\.')}\\b`));
    }
    const list = await t.get('/v1/sources');
    expect(list.body.items.find((s: { id: string }) => s.id === loyalty.id).mapping).toEqual(LOYALTY_MAPPING);
    // A source created with an invalid mapping is refused the same way, and not created.
    const created = await admin(t, 'POST', '/v1/sources', {
      name: 'broken',
      kind: 'webhook',
      mapping: { type: 'track', identifiers: { email: 'email' } },
    });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: 'invalid_request' });
    expect(created.body.error.message).toMatch(/^invalid mapping: event\b/);
    expect((await t.get('/v1/sources')).body.items.map((s: { name: string }) => s.name)).not.toContain('broken');
  });
});

describe('webhook message ids without a messageId mapping', () => {
  let t: TestApp;
  let source: Created;
  const { messageId: _unused, ...mapping } = LOYALTY_MAPPING;
  const body = {
    sentAt: '2024-03-11T08:00:00Z',
    items: [
      { id: 'x1', occurredAt: '2024-03-11T07:00:00Z', member: { card: 'LC-7000-0001' }, points: 5, reason: 'a' },
      { id: 'x2', occurredAt: '2024-03-11T07:30:00Z', member: { card: 'LC-7000-0002' }, points: 7, reason: 'b' },
    ],
  };

  beforeEach(async () => {
    t = await createTestApp();
    source = await createSource(t, 'loyalty-no-ids', mapping);
  });
  afterEach(async () => {
    await t?.app.close();
  });

  it('derives them from the body, so a redelivery is a duplicate and another body is new', async () => {
    const first = await post(t, source.id, body, source.writeKey, 'basic');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ accepted: 2, duplicates: 0, quarantined: [] });
    await t.app.drain();

    const one = await profileWithEvents(t, 'loyalty_card', 'LC-7000-0001');
    const two = await profileWithEvents(t, 'loyalty_card', 'LC-7000-0002');
    expect(one.events).toHaveLength(1);
    expect(two.events).toHaveLength(1);
    const ids = [one.events[0].messageId, two.events[0].messageId];
    for (const id of ids) expect(id).toMatch(DERIVED_ID);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids).not.toContain('x1');

    const again = await post(t, source.id, body, source.writeKey, 'query');
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 2 });

    // A different body (same items, another `sentAt`) has another hash: its records are new messages.
    const other = await post(t, source.id, { ...body, sentAt: '2024-03-11T09:00:00Z' }, source.writeKey, 'header');
    expect(other.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    await t.app.drain();
    const after = await profileWithEvents(t, 'loyalty_card', 'LC-7000-0001');
    expect(after.events).toHaveLength(2);
    expect(after.events.map((e) => e.messageId)).not.toContain(ids[1]);
    expect(new Set(after.events.map((e) => e.messageId)).size).toBe(2);
  });
});

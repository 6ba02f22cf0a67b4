import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MASK } from '../destinations/destination-config.js';
import { startStandIn } from '../destinations/test/stand-in.js';
import { at, call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * The destinations API (DESIGN §7, `docs/destinations.md`) in-process: CRUD and validation, routing from the change
 * bus through `drain()` (the test app runs no loops), a webhook stand-in receiving signed batches, consent
 * filtering, audience sync, the dead-letter queue and its replay, marketing pressure.
 */

let t: TestApp;
let receiver: Awaited<ReturnType<typeof startStandIn>>;
let answer: { status: number; body?: unknown; headers?: Record<string, string> };

beforeEach(async () => {
  t = await createTestApp();
  answer = { status: 200, body: { ok: true } };
  receiver = await startStandIn(() => answer);
});
afterEach(async () => {
  await t.app.close();
  await receiver.close();
});

const SECRET = 'a-webhook-secret-of-some-length';

async function createHook(over: Record<string, unknown> = {}) {
  const r = await call(t, 'POST', '/v1/destinations', {
    name: 'Orders hook',
    type: 'webhook',
    config: { url: `${receiver.url}/hook`, secret: SECRET },
    subscription: { events: { names: ['Order Completed'] } },
    purpose: null,
    ...over,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

const order = (userId: string, total: number, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Order Completed',
  userId,
  messageId: `m-${userId}-${total}-${Math.random()}`,
  timestamp: at(1),
  properties: { total },
  ...extra,
});

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies, checked by the tests' assertions
type Json = any;

/** Every message the receiver got, in order. */
const received = () => receiver.calls.flatMap((c) => (c.json as { batch: Json[] }).batch);

describe('destination CRUD', () => {
  it('lists the plugin types with their config schemas', async () => {
    const r = await call(t, 'GET', '/v1/destination-types');
    expect(r.status).toBe(200);
    const types = r.body.items.map((i: { type: string }) => i.type);
    expect(types).toEqual(
      expect.arrayContaining(['webhook', 'postgres', 'file', 'nats', 'brevo', 'mailchimp', 'hubspot', 'customerio']),
    );
    const hook = r.body.items.find((i: { type: string }) => i.type === 'webhook');
    expect(hook.configSchema.properties.secret.secret).toBe(true);
  });

  it('creates with defaults, masks secrets, keeps a masked secret on update, versions each save, deletes', async () => {
    const d = await createHook({ purpose: undefined });
    expect(d).toMatchObject({ type: 'webhook', purpose: null, enabled: true, maxRetryHours: 48, version: 1 });
    expect(d.id).toMatch(/^dst_/);
    expect(d.config).toMatchObject({ url: `${receiver.url}/hook`, secret: MASK, batch: true, batchSize: 100 });
    const moved = await call(t, 'PATCH', `/v1/destinations/${d.id}`, {
      config: { ...d.config, url: 'https://elsewhere.example/hook' },
    });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toMatch(/^config\.secret: url changes, so the secret must be given again/);
    const patched = await call(t, 'PATCH', `/v1/destinations/${d.id}`, {
      name: 'Renamed',
      config: { ...d.config, batchSize: 10 },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', version: 2, config: { batchSize: 10, secret: MASK } });
    // The stored secret is the original one: a signed call proves it.
    await step(t, [order('u1', 80)]);
    const [hit] = receiver.calls;
    const sig = String(hit?.headers['tessera-signature']);
    const ts = Number(/t=(\d+)/.exec(sig)?.[1]);
    expect(sig).toBe(`t=${ts},v1=${createHmac('sha256', SECRET).update(`${ts}.${hit?.body}`).digest('hex')}`);
    const del = await call(t, 'DELETE', `/v1/destinations/${d.id}`);
    expect(del.status).toBe(200);
    expect(del.body.version).toBe(3);
    expect((await call(t, 'GET', `/v1/destinations/${d.id}`)).status).toBe(404);
    expect((await call(t, 'GET', '/v1/destinations')).body.items).toEqual([]);
  });

  it('refuses an unknown type, a bad config field, a kind the plugin cannot take, an unknown audience', async () => {
    const bad = async (body: Record<string, unknown>, message: RegExp) => {
      const r = await call(t, 'POST', '/v1/destinations', {
        name: 'x',
        type: 'webhook',
        config: { url: 'https://example.invalid/' },
        subscription: { profiles: true },
        ...body,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.message).toMatch(message);
    };
    await bad({ type: 'carrier-pigeon' }, /unknown destination type "carrier-pigeon"/);
    await bad({ config: { url: 'ftp://x' } }, /^config\.url: /);
    await bad({ config: { url: 'https://x.invalid', batchSize: 0 } }, /^config\.batchSize: /);
    await bad(
      { type: 'postgres', config: { url: 'postgres://x', table: 't', sync: 'profiles' }, subscription: { events: {} } },
      /cannot receive event messages/,
    );
    await bad({ subscription: { audiences: ['nope'] } }, /no audience "nope"/);
    await bad({ subscription: {} }, /name events, profiles or audiences/);
  });
});

describe('routing and delivery', () => {
  it('sends the subscribed events, batched and signed, with public ids, and logs each delivery', async () => {
    const d = await createHook({
      subscription: {
        events: { names: ['Order Completed'], where: [{ property: 'total', compare: { op: 'gt', value: 50 } }] },
      },
    });
    await step(t, [
      { type: 'identify', userId: 'u1', traits: { email: 'ada@example.com', plan: 'gold' }, timestamp: at(0) },
      order('u1', 80),
      order('u1', 20),
      { type: 'track', event: 'Page Viewed', userId: 'u1', timestamp: at(2) },
    ]);
    const got = received();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      kind: 'event',
      identifiers: { userId: 'u1', email: 'ada@example.com' },
      traits: { plan: 'gold' },
      event: { type: 'track', name: 'Order Completed', properties: { total: 80 } },
    });
    expect(got[0]?.id).toMatch(/^dlv_/);
    expect(got[0]?.profileId).toBe(await idOf(t, 'user_id', 'u1'));
    expect(receiver.calls[0]?.headers['idempotency-key']).toMatch(/^[0-9a-f]{64}$/);
    const log = await call(t, 'GET', `/v1/destinations/${d.id}/deliveries`);
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0]).toMatchObject({ id: got[0]?.id, status: 'delivered', attempts: 1 });
    const stats = await call(t, 'GET', `/v1/destinations/${d.id}/stats`);
    expect(stats.body).toMatchObject({ counts: { delivered: 1, pending: 0 }, lastHour: { delivered: 1 } });
  });

  it('a destination created later receives only what happens after it', async () => {
    await step(t, [order('u1', 80)]);
    await createHook();
    await t.app.drain();
    expect(received()).toHaveLength(0);
    await step(t, [order('u2', 90)]);
    expect(received().map((m) => m.identifiers.userId)).toEqual(['u2']);
  });

  it('skips profiles without consent for the destination’s purpose, and logs why', async () => {
    const d = await createHook({ purpose: 'marketing' });
    const consent = (marketing: boolean) => ({ consent: { categoryPreferences: { marketing } } });
    await step(t, [
      { type: 'identify', userId: 'yes', timestamp: at(0), context: consent(true) },
      { type: 'identify', userId: 'no', timestamp: at(0), context: consent(false) },
      order('yes', 60),
      order('no', 60),
      order('never-asked', 60),
    ]);
    expect(received().map((m) => m.identifiers.userId)).toEqual(['yes']);
    const skipped = await call(t, 'GET', `/v1/destinations/${d.id}/deliveries?status=skipped`);
    expect(skipped.body.items).toHaveLength(2);
    expect(skipped.body.items.every((i: { reason: string }) => i.reason === 'no consent for purpose marketing')).toBe(
      true,
    );
    // Consent given later: the next event goes.
    await step(t, [{ type: 'identify', userId: 'no', timestamp: at(5), context: consent(true) }, order('no', 70)]);
    expect(received().map((m) => m.identifiers.userId)).toEqual(['yes', 'no']);
  });

  it('keeps audience membership in sync: enter, then exit', async () => {
    const a = await call(t, 'POST', '/v1/audiences', {
      key: 'gold',
      name: 'Gold',
      definition: { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } },
    });
    expect(a.status).toBe(201);
    await createHook({ subscription: { audiences: ['gold'] } });
    await step(t, [{ type: 'identify', userId: 'u1', traits: { plan: 'gold' }, timestamp: at(0) }]);
    await step(t, [{ type: 'identify', userId: 'u1', traits: { plan: 'free' }, timestamp: at(1) }]);
    expect(received().map((m) => [m.kind, m.audience])).toEqual([
      ['audience', { key: 'gold', name: 'Gold', entered: true }],
      ['audience', { key: 'gold', name: 'Gold', entered: false }],
    ]);
  });

  it('sends profile changes as the whole profile', async () => {
    await createHook({ subscription: { profiles: true } });
    await step(t, [
      { type: 'identify', userId: 'u1', traits: { plan: 'gold', email: 'a@example.com' }, timestamp: at(0) },
    ]);
    const [m] = received();
    expect(m).toMatchObject({
      kind: 'profile',
      traits: { plan: 'gold', email: 'a@example.com' },
      identifiers: { userId: 'u1' },
    });
  });

  it('dead-letters a 4xx, retries a 5xx later; replay delivers after the fix with the same id', async () => {
    const d = await createHook();
    answer = { status: 400, body: { error: 'bad field' } };
    await step(t, [order('u1', 80)]);
    const dlq = await call(t, 'GET', `/v1/destinations/${d.id}/dlq`);
    expect(dlq.body.items).toHaveLength(1);
    expect(dlq.body.items[0]).toMatchObject({ status: 'dead', lastStatus: 400, attempts: 1 });
    expect(dlq.body.items[0].reason).toContain('bad field');
    const firstId = received()[0]?.id;
    answer = { status: 200 };
    const replay = await call(t, 'POST', `/v1/destinations/${d.id}/dlq/replay`, {});
    expect(replay.body).toEqual({ replayed: 1 });
    await t.app.drain();
    const got = received();
    expect(got.map((m) => m.id)).toEqual([firstId, firstId]);
    expect((await call(t, 'GET', `/v1/destinations/${d.id}/dlq`)).body.items).toEqual([]);
    // A 503 is not dead-lettered: pending, with its next attempt later.
    answer = { status: 503, headers: { 'retry-after': '120' } };
    await step(t, [order('u2', 80)]);
    const pending = await call(t, 'GET', `/v1/destinations/${d.id}/deliveries?status=pending`);
    expect(pending.body.items).toHaveLength(1);
    expect(pending.body.items[0]).toMatchObject({ attempts: 1, lastStatus: 503 });
    expect(Date.parse(pending.body.items[0].nextAttemptAt) - Date.now()).toBeGreaterThan(110_000);
    const one = await call(t, 'GET', `/v1/destinations/${d.id}/deliveries/${pending.body.items[0].id}`);
    expect(one.body.message.event.name).toBe('Order Completed');
  });

  it('a test send reports the receiver’s answer without storing anything', async () => {
    const d = await createHook();
    answer = { status: 401, body: 'nope' };
    const r = await call(t, 'POST', `/v1/destinations/${d.id}/test`);
    expect(r.body).toMatchObject({ status: 'drop', httpStatus: 401 });
    expect(received()[0].event.name).toBe('Tessera Test');
    expect((await call(t, 'GET', `/v1/destinations/${d.id}/deliveries`)).body.items).toEqual([]);
  });
});

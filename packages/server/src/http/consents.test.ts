import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandIn } from '../destinations/test/stand-in.js';
import { at, call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * Consents through the API (DESIGN §8, docs/privacy.md): the purposes as a versioned setting, a person's consents
 * now and their history, a decision recorded by staff, followed at once by a destination declaring that purpose.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const consent = (marketing: boolean) => ({ consent: { categoryPreferences: { marketing } } });

describe('consents', () => {
  it('lists the default purposes (version 0), saves new ones as versions, refuses a purpose listed twice', async () => {
    const before = await call(t, 'GET', '/v1/settings/consent-purposes');
    expect(before.body.version).toBe(0);
    expect(before.body.purposes.map((p: { key: string }) => p.key)).toEqual([
      'marketing',
      'analytics',
      'advertising',
      'personalization',
      'crm',
    ]);
    const purposes = [
      { key: 'marketing', name: 'Newsletters', channels: ['email'], legalBasis: 'consent' },
      { key: 'loyalty', name: 'Loyalty programme', channels: ['email', 'sms'], legalBasis: 'contract' },
    ];
    const put = await call(t, 'PUT', '/v1/settings/consent-purposes', { purposes });
    expect(put.body).toEqual({ purposes, version: 1 });
    const twice = await call(t, 'PUT', '/v1/settings/consent-purposes', { purposes: [purposes[0], purposes[0]] });
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toBe('purposes: "marketing" is listed twice');
  });

  it('records a decision made by staff beside those of context.consent; a destination follows it at once', async () => {
    const receiver = await startStandIn(() => ({ status: 200 }));
    try {
      const hook = await call(t, 'POST', '/v1/destinations', {
        name: 'newsletter',
        type: 'webhook',
        config: { url: `${receiver.url}/hook` },
        subscription: { events: { names: ['Order Completed'] } },
        purpose: 'marketing',
      });
      expect(hook.status).toBe(201);
      await step(t, [
        { type: 'identify', userId: 'u1', timestamp: at(0), context: consent(false) },
        { type: 'track', userId: 'u1', event: 'Order Completed', timestamp: at(1) },
      ]);
      const id = await idOf(t, 'user_id', 'u1');
      const before = await call(t, 'GET', `/v1/profiles/${id}/consents`);
      expect(before.body.current).toEqual([
        { purpose: 'marketing', granted: false, legalBasis: 'consent', since: at(0) },
      ]);
      expect(before.body.history).toHaveLength(1);
      expect(before.body.history[0].source).toMatch(/^src_/);

      const set = await call(t, 'POST', `/v1/profiles/${id}/consents`, { purpose: 'marketing', granted: true });
      expect(set.status).toBe(201);
      expect(set.body.current).toEqual([
        { purpose: 'marketing', granted: true, legalBasis: 'consent', since: expect.any(String) },
      ]);
      expect(set.body.history.map((h: { granted: boolean; source: string }) => [h.granted, h.source])).toEqual([
        [false, before.body.history[0].source],
        [true, 'api'],
      ]);
      // The profile view shows it too.
      expect((await call(t, 'GET', `/v1/profiles/${id}`)).body.consents).toEqual(set.body.current);
      await step(t, [{ type: 'track', userId: 'u1', event: 'Order Completed', timestamp: at(2) }]);
      const log = await call(t, 'GET', `/v1/destinations/${hook.body.id}/deliveries`);
      expect(log.body.items.map((d: { status: string }) => d.status)).toEqual(['delivered', 'skipped']);
      expect(receiver.calls).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('refuses an unknown purpose, a bad legal basis, an unknown profile', async () => {
    await step(t, [{ type: 'identify', userId: 'u1', timestamp: at(0) }]);
    const id = await idOf(t, 'user_id', 'u1');
    const unknown = await call(t, 'POST', `/v1/profiles/${id}/consents`, { purpose: 'telepathy', granted: true });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/^purpose: unknown purpose "telepathy" \(known: marketing, /);
    const basis = await call(t, 'POST', `/v1/profiles/${id}/consents`, {
      purpose: 'marketing',
      granted: true,
      legalBasis: 'because',
    });
    expect(basis.status).toBe(400);
    const missing = await call(t, 'GET', '/v1/profiles/prof_01a22938-0000-7000-8000-000000000000/consents');
    expect(missing.status).toBe(404);
  });
});

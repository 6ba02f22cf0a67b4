import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes)).toISOString();

describe('pipeline end to end (in-process)', () => {
  it('joins an anonymous visitor who logs in, then a second device, into one profile', async () => {
    let r = await t.send([
      { type: 'page', anonymousId: 'anon-1', messageId: 'm1', timestamp: at(0), name: 'Home' },
      {
        type: 'identify',
        anonymousId: 'anon-1',
        userId: 'u1',
        messageId: 'm2',
        timestamp: at(1),
        traits: { email: ' Jane@Example.COM ', phone: '+33 6 12 34 56 78', plan: 'pro' },
      },
      {
        type: 'track',
        userId: 'u1',
        messageId: 'm3',
        timestamp: at(2),
        event: 'Order Completed',
        properties: { total: 42 },
      },
      { type: 'screen', anonymousId: 'anon-2', messageId: 'm4', timestamp: at(3), name: 'Home' },
      { type: 'alias', previousId: 'anon-2', userId: 'u1', messageId: 'm5', timestamp: at(4) },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, accepted: 5, duplicates: 0, quarantined: [] });
    await t.app.drain();
    const p = await t.get('/v1/profiles/by/email/jane@example.com');
    expect(p.status).toBe(200);
    expect(p.body.identities).toEqual([
      { type: 'anonymous_id', value: 'anon-1' },
      { type: 'anonymous_id', value: 'anon-2' },
      { type: 'email', value: 'jane@example.com' },
      { type: 'phone', value: '+33612345678' },
      { type: 'user_id', value: 'u1' },
    ]);
    expect(p.body.traits.plan).toBe('pro');
    const events = await t.get(`/v1/profiles/${p.body.id}/events`);
    expect(events.body.items.map((e: any) => e.messageId)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
    // The same messageId again changes nothing.
    r = await t.send([{ type: 'track', userId: 'u1', messageId: 'm3', timestamp: at(2), event: 'Order Completed' }]);
    expect(r.body.duplicates).toBe(1);
    await t.app.drain();
    const again = await t.get(`/v1/profiles/${p.body.id}/events`);
    expect(again.body.items).toHaveLength(5);
  });

  it('keeps a second user id that reuses an e-mail as a separate profile, and records the drop', async () => {
    await t.send([
      { type: 'identify', userId: 'u1', messageId: 'a', timestamp: at(0), traits: { email: 'x@example.com' } },
      { type: 'identify', userId: 'u2', messageId: 'b', timestamp: at(1), traits: { email: 'x@example.com' } },
    ]);
    await t.app.drain();
    const u1 = await t.get('/v1/profiles/by/user_id/u1');
    const u2 = await t.get('/v1/profiles/by/user_id/u2');
    expect(u1.body.id).not.toBe(u2.body.id);
    expect(u2.body.identities).toEqual([{ type: 'user_id', value: 'u2' }]);
    const merges = await t.get(`/v1/profiles/${u2.body.id}/merges`);
    expect(merges.body.decisions).toMatchObject([
      { kind: 'drop', identifier: { type: 'email', value: 'x@example.com' }, reason: 'limit_exceeded' },
    ]);
  });

  it('quarantines a re-sent refused call once, and counts it once (regression: one row per copy)', async () => {
    const batch = [
      { type: 'track', userId: 'u1', messageId: 'bad-time', event: 'X', timestamp: 'yesterday' },
      { type: 'track', userId: 'null', messageId: 'blocked', event: 'X', timestamp: at(0) },
      { type: 'track', userId: 'u1', messageId: 'ok', event: 'X', timestamp: at(0) },
    ];
    for (let i = 0; i < 3; i++) expect((await t.send(batch)).status).toBe(200);
    await t.app.drain();
    const q = await t.get('/v1/sources/web/quarantine');
    expect(q.body.items.map((i: { messageId: string; code: string }) => [i.messageId, i.code]).sort()).toEqual([
      ['bad-time', 'invalid_timestamp'],
      ['blocked', 'missing_identity'],
    ]);
    const metrics = await t.app.metrics.registry.getSingleMetricAsString('tessera_events_quarantined_total');
    expect(metrics).toContain('tessera_events_quarantined_total{code="invalid_timestamp"} 1');
    expect(metrics).toContain('tessera_events_quarantined_total{code="missing_identity"} 1');
  });
});

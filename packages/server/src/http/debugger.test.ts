import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callAs, type Json } from '../test/inject.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/** The live event debugger (`GET /v1/sources/{id}/debugger`): calls as they arrive, their status and reasons. */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

describe('source debugger', () => {
  it('lists the latest calls newest first, pending then processed, refused ones with their code and reason', async () => {
    const call = callAs(t.app, t.token);
    await t.send([
      { type: 'track', userId: 'u1', event: 'Product Added', properties: { sku: 'A1' } },
      { type: 'track', event: 'No identity' },
      { type: 'identify', userId: 'u1', traits: { email: 'ann@example.com' } },
    ]);
    const before = await call('GET', `/v1/sources/${t.sourceId}/debugger`);
    expect(before.status).toBe(200);
    const items: Json[] = before.body.items;
    expect(items.map((i) => i.position)).toEqual([...items.map((i) => i.position)].sort((a, b) => b - a));
    const byEvent = (name: string | null) => after.body.items.find((i: Json) => i.event === name);
    const refused = items.find((i) => i.event === 'No identity');
    expect(refused).toMatchObject({ status: 'quarantined', type: 'track' });
    expect(refused.code).toMatch(/\w/);
    expect(refused.reason).toMatch(/\w/);
    expect(items.find((i) => i.event === 'Product Added')).toMatchObject({ status: 'pending', code: null });
    await t.app.drain();
    const after = await call('GET', `/v1/sources/web/debugger`);
    expect(byEvent('Product Added').status).toBe('processed');
    expect(byEvent(null).call.traits.email).toBe('ann@example.com');
    // Only newer calls after `last`.
    await t.send([{ type: 'page', userId: 'u1', name: 'Home' }]);
    const newer = await call('GET', `/v1/sources/web/debugger?after=${after.body.last}`);
    expect(newer.body.items.map((i: Json) => i.event)).toEqual(['Home']);
    expect(newer.body.last).toBeGreaterThan(after.body.last);
  });

  it('masks personal data for a marketer, refuses a DPO, and names bad parameters', async () => {
    await t.send([{ type: 'identify', userId: 'u1', traits: { email: 'ann@example.com' } }]);
    const { token: marketer } = await t.app.tokens.create('m', ['marketer']);
    const m = await callAs(t.app, marketer)('GET', '/v1/sources/web/debugger');
    expect(m.body.items[0].call.traits.email).toBe('a***@***.com');
    const { token: dpo } = await t.app.tokens.create('d', ['dpo']);
    expect((await callAs(t.app, dpo)('GET', '/v1/sources/web/debugger')).status).toBe(403);
    const call = callAs(t.app, t.token);
    expect((await call('GET', '/v1/sources/web/debugger?limit=500')).body.error.message).toBe(
      'limit must be an integer from 1 to 200',
    );
    expect((await call('GET', '/v1/sources/web/debugger?after=-1')).status).toBe(400);
    expect((await call('GET', '/v1/sources/nope/debugger')).status).toBe(404);
  });
});

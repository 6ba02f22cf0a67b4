import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callAs } from '../test/inject.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/** `GET /v1/audiences/{key}/sizes`: members at the end of each day, from the stays on record. */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

describe('audience sizes over time', () => {
  it('counts today’s members, none before they entered, and refuses a bad window or an unknown audience', async () => {
    const call = callAs(t.app, t.token);
    const created = await call('POST', '/v1/audiences', {
      key: 'gold',
      name: 'Gold',
      definition: { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } },
    });
    expect(created.status).toBe(201);
    await t.send([
      { type: 'identify', userId: 'u1', traits: { plan: 'gold' } },
      { type: 'identify', userId: 'u2', traits: { plan: 'gold' } },
      { type: 'identify', userId: 'u3', traits: { plan: 'free' } },
    ]);
    await t.app.drain();
    await t.send([{ type: 'identify', userId: 'u2', traits: { plan: 'free' } }]);
    await t.app.drain();
    const r = await call('GET', '/v1/audiences/gold/sizes?days=3');
    expect(r.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(r.body.items).toHaveLength(3);
    expect(r.body.items[2]).toEqual({ day: today, members: 1 });
    expect(r.body.items[0].members).toBe(0);
    expect((await call('GET', '/v1/audiences/gold/sizes?days=0')).status).toBe(400);
    expect((await call('GET', '/v1/audiences/nope/sizes')).status).toBe(404);
  });
});

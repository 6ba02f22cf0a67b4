/** The computed traits API (docs/audiences.md, "Computed traits"). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

let t: TestApp;
const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;
const SPEND = {
  name: 'Spend, 30 days',
  definition: { fn: 'sum', event: 'Order Completed', property: 'total', window: { last: 30, unit: 'days' } },
};

beforeAll(async () => {
  t = await createTestApp();
  const now = Date.now();
  await step(
    t,
    [
      [60, 1],
      [40, 3],
      [500, 45],
    ].map(([total, daysAgo], i) => ({
      type: 'track',
      userId: 'u1',
      event: 'Order Completed',
      properties: { total, channel: i === 0 ? 'web' : 'app' },
      messageId: `o${i}`,
      timestamp: iso(now - daysAgo * DAY),
    })),
  );
});
afterAll(() => t.app.close());

describe('/v1/computed-traits', () => {
  it('creates, lists, reads and changes a computed trait, with its summary', async () => {
    const r = await call(t, 'PUT', '/v1/computed-traits/spend_30d', SPEND);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      key: 'spend_30d',
      name: 'Spend, 30 days',
      definition: SPEND.definition,
      summary: { en: 'sum of total over Order Completed in the last 30 days' },
    });
    expect(r.body.summary.fr).toContain('somme de total');
    await call(t, 'PUT', '/v1/computed-traits/top_channel', {
      name: 'Top channel',
      definition: { fn: 'most_frequent', event: 'Order Completed', property: 'channel' },
    });
    const list = await t.get('/v1/computed-traits');
    expect(list.body.items.map((x: { key: string }) => x.key)).toEqual(['spend_30d', 'top_channel']);
    expect((await t.get('/v1/computed-traits/spend_30d')).body.name).toBe('Spend, 30 days');
    expect((await t.get('/v1/computed-traits/nope')).status).toBe(404);
  });

  it('answers a profile’s values now', async () => {
    await call(t, 'PUT', '/v1/computed-traits/spend_30d', SPEND);
    await call(t, 'PUT', '/v1/computed-traits/recency', {
      name: 'Days since the last order',
      definition: { fn: 'days_since', event: 'Order Completed' },
    });
    await call(t, 'PUT', '/v1/computed-traits/refunds', {
      name: 'Refund average',
      definition: { fn: 'average', event: 'Refund', property: 'amount' },
    });
    const id = await idOf(t, 'user_id', 'u1');
    const r = await t.get(`/v1/profiles/${id}/computed-traits`);
    expect(r.status).toBe(200);
    expect(r.body.values).toMatchObject({ spend_30d: 100, recency: 1 });
    // Missing values are left out.
    expect(Object.hasOwn(r.body.values, 'refunds')).toBe(false);
  });

  it.each([
    [{ name: 'x', definition: { fn: 'sum', event: 'E' } }, 'definition.property'],
    [{ name: 'x', definition: { fn: 'median', event: 'E' } }, 'definition.fn'],
    [
      { name: 'x', definition: { fn: 'count', event: 'E', window: { last: 0, unit: 'days' } } },
      'definition.window.last',
    ],
    [{ definition: { fn: 'count', event: 'E' } }, 'name'],
    [{ name: 'x', definition: { fn: 'count', event: 'E' }, colour: 1 }, 'colour'],
  ])('refuses %j naming %s', async (body, field) => {
    const r = await call(t, 'PUT', '/v1/computed-traits/bad', body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain(`invalid computed trait: ${field}:`);
  });

  it('refuses deleting a trait an audience reads, then deletes it once unused', async () => {
    await call(t, 'PUT', '/v1/computed-traits/spend_30d', SPEND);
    const a = await call(t, 'POST', '/v1/audiences', {
      key: 'big',
      name: 'Big spenders',
      definition: { type: 'computed_trait', key: 'spend_30d', compare: { op: 'gte', value: 100 } },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const refused = await call(t, 'DELETE', '/v1/computed-traits/spend_30d');
    expect(refused.status).toBe(409);
    await call(t, 'DELETE', '/v1/audiences/big');
    expect((await call(t, 'DELETE', '/v1/computed-traits/spend_30d')).status).toBe(200);
    expect((await t.get('/v1/computed-traits/spend_30d')).status).toBe(404);
  });

  it('lets analysts read, not write', async () => {
    const { token } = await t.app.tokens.create('analyst', ['analyst']);
    const read = await t.app.http.inject({
      method: 'GET',
      url: '/v1/computed-traits',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(read.statusCode).toBe(200);
    const write = await t.app.http.inject({
      method: 'PUT',
      url: '/v1/computed-traits/x',
      headers: { authorization: `Bearer ${token}` },
      payload: SPEND,
    });
    expect(write.statusCode).toBe(403);
  });
});

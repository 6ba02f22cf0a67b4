import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callAs } from '../test/inject.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/** `GET /v1/stats/overview`: the web app's overview figures. */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const DAY = 86_400_000;
/** `n` days ago, a second before now: day 0 is today, never in the future. */
const day = (n: number) => new Date(Date.now() - n * DAY - 1000).toISOString();
const consent = (marketing: boolean) => ({ consent: { categoryPreferences: { marketing } } });

describe('overview stats', () => {
  it('counts events per day and source, top events, identified profiles, merges and current consents', async () => {
    await t.send([
      { type: 'track', userId: 'u1', event: 'Order Completed', timestamp: day(0), context: consent(true) },
      { type: 'track', userId: 'u1', event: 'Order Completed', timestamp: day(1) },
      { type: 'track', userId: 'u2', event: 'Product Viewed', timestamp: day(1), context: consent(true) },
      { type: 'track', userId: 'u2', event: 'Product Viewed', timestamp: day(40) },
      { type: 'page', anonymousId: 'a1', name: 'Home', timestamp: day(0) },
      { type: 'identify', userId: 'u2', timestamp: day(0), context: consent(false) },
      { type: 'alias', previousId: 'a1', userId: 'u1', timestamp: day(0) },
    ]);
    await t.app.drain();
    const r = await callAs(t.app, t.token)('GET', '/v1/stats/overview?days=7');
    expect(r.status).toBe(200);
    const perDay = Object.fromEntries(
      r.body.eventsPerDay.map((e: { day: string; events: number }) => [e.day, e.events]),
    );
    expect(perDay).toEqual({ [day(1).slice(0, 10)]: 2, [day(0).slice(0, 10)]: 4 });
    expect(r.body.eventsPerDay[0].sourceId).toBe(t.sourceId);
    expect(r.body.topEvents).toEqual([
      { name: 'Order Completed', events: 2 },
      { name: 'Product Viewed', events: 1 },
    ]);
    expect(r.body).toMatchObject({ days: 7, profiles: 2, identified: 2, merges: 1, backlog: 0 });
    expect(r.body.consents).toEqual([{ purpose: 'marketing', granted: 1, denied: 1 }]);
    expect((await callAs(t.app, t.token)('GET', '/v1/stats/overview?days=0')).status).toBe(400);
  });
});

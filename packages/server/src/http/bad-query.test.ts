import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
  await t.send([{ type: 'identify', userId: 'u1', messageId: 'm1', traits: { plan: 'pro' } }]);
  await t.app.drain();
});
afterEach(async () => {
  await t.app.close();
});

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Regressions: each of these answered 500 before; now a 400 with our error body. */
describe('bad query input on read endpoints', () => {
  it.each([
    ['repeated q', '/v1/profiles?q=a&q=b'],
    ['a search cursor of the wrong shape', `/v1/profiles?cursor=${cursor({ x: 1 })}`],
    ['an events cursor of the wrong shape', `/v1/profiles/by/user_id/u1/../../PROFILE/events?cursor=${cursor('x')}`],
    ['an asOf beyond the date range', '/v1/profiles/PROFILE?asOf=99999999999999999'],
    ['a malformed percent-encoding', '/v1/profiles/%E0%A4%A'],
  ])('%s → 400', async (_name, url) => {
    const profile = (await t.get('/v1/profiles/by/user_id/u1')).body.id as string;
    const res = await t.get(
      url.replace('/v1/profiles/by/user_id/u1/../../PROFILE', `/v1/profiles/${profile}`).replace('PROFILE', profile),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request' });
    expect(typeof res.body.error.requestId).toBe('string');
  });

  it('a quarantine id that is not one answers 404, not 500', async () => {
    const res = await t.app.http.inject({
      method: 'POST',
      url: '/v1/sources/web/quarantine/not-an-id/replay',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      payload: {},
    });
    expect(res.statusCode).toBe(404);
  });
});

describe('quarantine replay', () => {
  it('a replay that is still invalid leaves exactly one open item, with the new reason (regression)', async () => {
    await t.send([
      { type: 'track', userId: 'u1', messageId: 'ok', event: 'X' },
      { type: 'track', userId: 'u1', messageId: 'bad', event: 5 },
    ]);
    await t.app.drain();
    const open = async () =>
      (await t.get('/v1/sources/web/quarantine')).body.items as { id: string; messageId: string; reason: string }[];
    const [item] = await open();
    const replay = (event: unknown) =>
      t.app.http.inject({
        method: 'POST',
        url: `/v1/sources/web/quarantine/${item.id}/replay`,
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        payload: { event },
      });
    const res = await replay({ type: 'track', userId: 'u1', messageId: 'bad', event: 'X', timestamp: 'not a date' });
    expect(res.statusCode).toBe(400);
    await t.app.drain();
    const after = await open();
    expect(after.map((i) => [i.messageId, i.reason])).toEqual([['bad', 'timestamp: Expected an ISO 8601 date-time']]);
    expect(after[0].id).not.toBe(item.id);
  });
});

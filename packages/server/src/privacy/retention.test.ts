import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { runRetention } from './retention.js';

/**
 * Retention policies (DESIGN §8, docs/privacy.md): a rule deletes the events of its source / type / name older than
 * its days, with their raw ingest-log entries; other events, and the profile, stay.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();

describe('retention', () => {
  it('deletes the events a rule names past its days, with their raw payloads; keeps the rest', async () => {
    await step(t, [
      { type: 'identify', userId: 'u1', traits: { plan: 'gold' }, timestamp: daysAgo(400), messageId: 'old-identify' },
      { type: 'page', userId: 'u1', name: 'Home', timestamp: daysAgo(100), messageId: 'old-page' },
      { type: 'page', userId: 'u1', name: 'Home', timestamp: daysAgo(10), messageId: 'new-page' },
      { type: 'track', userId: 'u1', event: 'Order Completed', timestamp: daysAgo(100), messageId: 'old-order' },
    ]);
    const put = await call(t, 'PUT', '/v1/settings/retention', {
      rules: [
        { type: 'page', days: 30 },
        { source: t.sourceId, name: 'Order Completed', days: 365 },
      ],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.version).toBe(1);
    const logBefore = (await t.app.storage.log.read(0, 100)).length;
    expect(await runRetention(t.app.storage, Date.now())).toEqual([1, 0]);
    const id = await idOf(t, 'user_id', 'u1');
    const events = await call(t, 'GET', `/v1/profiles/${id}/events`);
    expect(events.body.items.map((e: { messageId: string }) => e.messageId).sort()).toEqual([
      'new-page',
      'old-identify',
      'old-order',
    ]);
    const log = await t.app.storage.log.read(0, 100);
    expect(log).toHaveLength(logBefore - 1);
    expect(log.some((e) => e.messageId === 'old-page')).toBe(false);
    // The profile stays.
    expect((await call(t, 'GET', `/v1/profiles/${id}`)).body.traits).toMatchObject({ plan: 'gold' });
  });

  it('refuses a rule naming an unknown source', async () => {
    const r = await call(t, 'PUT', '/v1/settings/retention', {
      rules: [{ source: 'src_01a22938-0000-7000-8000-000000000000', days: 30 }],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^rules\.0\.source: no source /);
  });
});

/**
 * RFM (docs/audiences.md, "RFM"): the run scores every survivor with a purchase by quintiles of recency, frequency
 * and monetary value, names its segment, and audiences read the scores as computed traits. The SQL run is checked
 * against a reference in TypeScript on every test database.
 */
import type { RfmSettings } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUuid } from '../ids.js';
import type { EventRow } from '../profiles/ports.js';
import { createSeededRandom } from '../seeded-random.js';
import type { Storage } from '../storage/storage.js';
import { testDatabases } from '../test/databases.js';
import { call, step } from '../test/identity-steps.js';
import { createTestApp } from '../test/test-app.js';
import { runAudienceJob } from './recompute.js';
import { loadRfmSettings, RFM_KEY, runRfm } from './rfm.js';
import { rfmSegment } from './rfm-segments.js';
import { toNumber, valueAt } from './values.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const SETTINGS: RfmSettings = { event: 'Order Completed', amountProperty: 'order.total', windowDays: 365 };

/** SQL's `ntile(5)` over rows already ordered: the first (n mod 5) buckets hold one row more. */
function ntile(n: number): number[] {
  const out: number[] = [];
  const small = Math.floor(n / 5);
  const big = n % 5;
  for (let b = 1; b <= 5; b++) for (let i = 0; i < small + (b <= big ? 1 : 0); i++) out.push(b);
  return out;
}

/** The reference: what the run must store for these events (survivor of each event's profile given). */
function reference(events: EventRow[], survivorOf: (id: string) => string) {
  const by = new Map<string, { last: number; frequency: number; monetary: number }>();
  for (const e of events) {
    if (e.type !== 'track' || e.name !== SETTINGS.event || e.timestamp > NOW) continue;
    if (e.timestamp <= NOW - (SETTINGS.windowDays as number) * DAY) continue;
    const id = survivorOf(e.profileId);
    const cur = by.get(id) ?? { last: Number.NEGATIVE_INFINITY, frequency: 0, monetary: 0 };
    cur.last = Math.max(cur.last, e.timestamp);
    cur.frequency++;
    cur.monetary += toNumber(valueAt(e.properties, SETTINGS.amountProperty)) ?? 0;
    by.set(id, cur);
  }
  const rows = [...by].map(([profileId, v]) => ({ profileId, ...v, r: 0, f: 0, m: 0 }));
  const rank = (key: 'last' | 'frequency' | 'monetary', score: 'r' | 'f' | 'm') => {
    const sorted = [...rows].sort((a, b) => a[key] - b[key] || (a.profileId < b.profileId ? -1 : 1));
    const tiles = ntile(sorted.length);
    sorted.forEach((row, i) => {
      row[score] = tiles[i];
    });
  };
  rank('last', 'r');
  rank('frequency', 'f');
  rank('monetary', 'm');
  return rows.map((x) => ({ ...x, segment: rfmSegment(x.r, x.f) }));
}

for (const database of testDatabases()) {
  describe.skipIf(database.skip)(`the RFM run on ${database.name}`, () => {
    let storage: Storage;
    beforeAll(async () => {
      storage = await database.create();
    });
    afterAll(() => storage?.close());

    it('stores the quintile scores and segments of the reference, merged profiles scored as their survivor', async () => {
      const r = createSeededRandom(9);
      const profiles = Array.from({ length: 43 }, () => newUuid());
      const events: EventRow[] = [];
      let position = 0;
      for (const p of profiles) {
        for (let k = r.int(0, 6); k > 0; k--) {
          const total = r.pick([10, 25, 99.5, '40', 'n/a', null, 1000]);
          events.push({
            id: newUuid(),
            logPosition: ++position,
            sourceId: newUuid(),
            type: r.chance(0.9) ? 'track' : 'page',
            name: r.chance(0.85) ? SETTINGS.event : 'Product Viewed',
            messageId: newUuid(),
            profileId: p,
            userId: null,
            anonymousId: null,
            // A few in the future and a few out of the year's window.
            timestamp: NOW - r.pick([0, 1, 2, 5, 30, 90, 200, 364, 366, -1]) * DAY - r.int(0, 1000),
            receivedAt: NOW,
            properties: { order: { total } },
            traits: null,
            context: null,
          });
        }
      }
      await storage.profiles.createMany(
        profiles.map((id) => ({ id, createdAt: NOW, updatedAt: NOW, traits: {}, traitTimes: {} })),
      );
      await storage.events.insert(events);
      // Two merges: their events count for the survivor.
      await storage.identities.redirect([profiles[1], profiles[2]], profiles[0], NOW, NOW);
      const survivorOf = (id: string) => (id === profiles[1] || id === profiles[2] ? profiles[0] : id);
      await storage.settings.put(RFM_KEY, SETTINGS, 'test', NOW);
      const run = await runRfm(storage, NOW);
      const expected = reference(events, survivorOf).sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
      expect(run).toMatchObject({ profiles: expected.length, settingsVersion: 1 });
      expect(expected.length).toBeGreaterThan(25);
      const stored = (await storage.rfm.get(profiles)).sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
      expect(
        stored.map((s) => ({
          profileId: s.profileId,
          last: s.lastAt,
          frequency: s.frequency,
          monetary: s.monetary,
          r: s.r,
          f: s.f,
          m: s.m,
          segment: s.segment,
        })),
      ).toEqual(expected);
      expect(await storage.rfm.lastRun()).toEqual({ computedAt: NOW, settingsVersion: 1 });
      const grid = await storage.rfm.grid();
      expect(grid.reduce((n, c) => n + c.profiles, 0)).toBe(expected.length);
      // A second run replaces the rows.
      await storage.settings.put(RFM_KEY, { ...SETTINGS, windowDays: 1 }, 'test', NOW);
      expect((await runRfm(storage, NOW))?.settingsVersion).toBe(2);
      expect((await storage.rfm.get(profiles)).every((s) => s.settingsVersion === 2)).toBe(true);
      expect((await loadRfmSettings(storage.settings))?.version).toBe(2);
    });
  });
}

describe('RFM through the API and in audiences', () => {
  it('scores the customers, answers the grid, and an audience on rfm_segment follows the scores', async () => {
    const t = await createTestApp();
    try {
      const now = Date.now();
      const calls: Record<string, unknown>[] = [];
      let n = 0;
      // Customer i: i + 1 orders, the latest i days ago, each of 10 × (i + 1).
      for (let i = 0; i < 10; i++) {
        for (let k = 0; k <= i; k++) {
          calls.push({
            type: 'track',
            userId: `c${i}`,
            event: 'Order Completed',
            properties: { total: 10 * (i + 1) },
            messageId: `o${++n}`,
            timestamp: new Date(now - (10 - i) * DAY - k * 1000).toISOString(),
          });
        }
      }
      await step(t, calls);
      const champions = await call(t, 'POST', '/v1/audiences', {
        key: 'champions',
        name: 'Champions',
        definition: { type: 'computed_trait', key: 'rfm_segment', compare: { op: 'equals', value: 'champions' } },
      });
      expect(champions.status, JSON.stringify(champions.body)).toBe(201);
      const bad = await call(t, 'PUT', '/v1/settings/rfm', { event: 'Order Completed' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('invalid rfm settings: amountProperty:');
      const put = await call(t, 'PUT', '/v1/settings/rfm', { event: 'Order Completed', amountProperty: 'total' });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body).toMatchObject({ version: 1, run: { profiles: 10, settingsVersion: 1 } });
      const grid = await t.get('/v1/rfm');
      expect(grid.body).toMatchObject({ configured: true, settingsVersion: 1 });
      // Quintiles of two: c8, c9 score (5, 5), c6, c7 (4, 4): champions; c4, c5 (3, 3) need attention, c2, c3
      // (2, 2) hibernate, c0, c1 (1, 1) are lost.
      expect(grid.body.segments).toEqual({ champions: 4, need_attention: 2, hibernating: 2, lost: 2 });
      await runAudienceJob(t.app.storage);
      const members = await t.get('/v1/audiences/champions/members');
      expect(members.body.items).toHaveLength(4);
      // The pipeline's evaluation reads the stored scores too: an event of c9 keeps it in, one of c0 leaves it out.
      await step(t, [
        {
          type: 'identify',
          userId: 'c9',
          traits: { vip: true },
          messageId: 'i9',
          timestamp: new Date(now).toISOString(),
        },
        {
          type: 'identify',
          userId: 'c0',
          traits: { vip: false },
          messageId: 'i0',
          timestamp: new Date(now).toISOString(),
        },
      ]);
      expect((await t.get('/v1/audiences/champions/members')).body.items).toHaveLength(4);
      const c9 = await t.get('/v1/profiles/by/user_id/c9');
      const stays = await t.get(`/v1/profiles/${c9.body.id}/audiences`);
      expect(stays.body.items.map((x: { audienceKey: string }) => x.audienceKey)).toEqual(['champions']);
      const values = await t.get(`/v1/profiles/${c9.body.id}/computed-traits`);
      expect(values.body.values).toMatchObject({
        rfm_r: 5,
        rfm_f: 5,
        rfm_m: 5,
        rfm_score: '555',
        rfm_segment: 'champions',
      });
      // Reserved keys cannot be defined as computed traits.
      const reserved = await call(t, 'PUT', '/v1/computed-traits/rfm_r', {
        name: 'x',
        definition: { fn: 'count', event: 'E' },
      });
      expect(reserved.status).toBe(400);
    } finally {
      await t.app.close();
    }
  });
});

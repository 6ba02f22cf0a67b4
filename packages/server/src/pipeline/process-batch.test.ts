import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recentChanges } from '../bus/recent-changes.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { IsolateBatch, processBatch } from './process-batch.js';
import type { Step } from './step.js';
import { DEFAULT_STEPS } from './steps/index.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

/** A step that fails (a bug) for one message, after the earlier steps have written its profile and event row. */
const boom: Step = {
  name: 'boom',
  async run(ctx) {
    if (ctx.entry.messageId === 'bad') throw new TypeError('bug');
    return { kind: 'ok' };
  },
};

describe('processBatch modes', () => {
  it('fast mode hands a batch with a failing event to isolated mode, which stores the rest and nothing of it', async () => {
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    await t.send([
      { type: 'identify', userId: 'good-1', messageId: 'g1', timestamp: at, traits: { plan: 'pro' } },
      { type: 'identify', userId: 'broken', messageId: 'bad', timestamp: at, traits: { plan: 'gold' } },
      { type: 'track', userId: 'good-2', messageId: 'g2', timestamp: at, event: 'X' },
    ]);
    const steps = [...DEFAULT_STEPS, boom];
    await expect(processBatch(t.app.storage, steps, 100, Date.now(), 'fast')).rejects.toBeInstanceOf(IsolateBatch);
    // Nothing of the fast attempt stayed: the offset did not move.
    expect(await t.app.storage.log.offset('pipeline')).toBe(0);
    const outcome = await processBatch(t.app.storage, steps, 100, Date.now(), 'isolated');
    expect(outcome).toMatchObject({ read: 3, stored: 2, quarantined: [{ code: 'processing_failed', count: 1 }] });
    expect((await t.get('/v1/profiles/by/user_id/good-1')).body.traits).toEqual({ plan: 'pro' });
    expect((await t.get('/v1/profiles/by/user_id/good-2')).status).toBe(200);
    // The failed event's profile, identity and event row were rolled back with its savepoint.
    expect((await t.get('/v1/profiles/by/user_id/broken')).status).toBe(404);
    expect(await t.app.storage.events.count()).toBe(2);
  });

  it('asks the store only about the ids a filter of the processed keys may hold, and adds the keys it stores', async () => {
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    await t.send([
      { type: 'track', userId: 'u', messageId: 'a', timestamp: at, event: 'X' },
      { type: 'track', userId: 'u', messageId: 'b', timestamp: at, event: 'X' },
    ]);
    // Not processed yet, so the tracking API lets the second `a` into the log: only the pipeline's look-up stops it.
    await t.send([
      { type: 'track', userId: 'u', messageId: 'a', timestamp: at, event: 'X' },
      { type: 'track', userId: 'u', messageId: 'c', timestamp: at, event: 'X' },
    ]);
    const held = new Set<string>();
    const asked: string[][] = [];
    const keys = {
      maybeProcessed(sourceId: string, ids: readonly string[]) {
        const maybe = ids.filter((id) => held.has(`${sourceId}/${id}`));
        asked.push([...maybe]);
        return maybe;
      },
      add(sourceId: string, ids: readonly string[]) {
        for (const id of ids) held.add(`${sourceId}/${id}`);
      },
    };
    expect(await processBatch(t.app.storage, DEFAULT_STEPS, 2, Date.now(), 'fast', undefined, keys)).toMatchObject({
      stored: 2,
    });
    expect([...held].map((k) => k.split('/')[1]).sort()).toEqual(['a', 'b']);
    expect(await processBatch(t.app.storage, DEFAULT_STEPS, 10, Date.now(), 'fast', undefined, keys)).toMatchObject({
      read: 2,
      stored: 1,
      duplicates: 1,
    });
    expect(asked).toEqual([[], ['a']]);
    expect(await t.app.storage.events.count()).toBe(3);
    expect([...held].map((k) => k.split('/')[1]).sort()).toEqual(['a', 'b', 'c']);
  });

  it('fast mode stores a clean batch in one go, events included', async () => {
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    await t.send([
      { type: 'track', userId: 'u', messageId: 'a', timestamp: at, event: 'X' },
      { type: 'track', userId: 'u', messageId: 'b', timestamp: at, event: 'Y' },
    ]);
    expect(await processBatch(t.app.storage, DEFAULT_STEPS, 100, Date.now(), 'fast')).toMatchObject({
      read: 2,
      stored: 2,
    });
    expect(await t.app.storage.events.count()).toBe(2);
  });

  it("hands a committed batch's changes to RecentChanges with the seqs the table gave them, a failed batch's none", async () => {
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    const recent = recentChanges();
    await t.send([
      { type: 'identify', userId: 'good-1', messageId: 'g1', timestamp: at, traits: { plan: 'pro' } },
      { type: 'identify', userId: 'broken', messageId: 'bad', timestamp: at, traits: { plan: 'gold' } },
    ]);
    await expect(
      processBatch(t.app.storage, [...DEFAULT_STEPS, boom], 100, Date.now(), 'fast', recent),
    ).rejects.toBeInstanceOf(IsolateBatch);
    expect(recent.after(0, 100)).toBeUndefined();
    await processBatch(t.app.storage, DEFAULT_STEPS, 100, Date.now(), 'fast', recent);
    // A second batch; its anonymous visitor then identified merges two profiles (published mid-batch: a gap).
    await t.send([
      { type: 'page', anonymousId: 'anon-1', messageId: 'p1', timestamp: at, name: 'Home' },
      { type: 'identify', userId: 'good-3', messageId: 'g3', timestamp: at, traits: { email: 'g3@example.com' } },
    ]);
    await processBatch(t.app.storage, DEFAULT_STEPS, 100, Date.now(), 'fast', recent);
    await t.send([
      { type: 'identify', anonymousId: 'anon-1', userId: 'good-3', messageId: 'g4', timestamp: at },
      { type: 'track', userId: 'good-3', messageId: 'g5', timestamp: at, event: 'Order Completed' },
    ]);
    await processBatch(t.app.storage, DEFAULT_STEPS, 100, Date.now(), 'fast', recent);
    const table = await t.app.storage.changes.after(0, { limit: 1000 });
    let vouched = 0;
    for (let seq = 0; seq <= (table.at(-1)?.seq ?? 0); seq++) {
      const held = recent.after(seq, 1000);
      if (held === undefined) continue;
      vouched++;
      expect(held).toEqual(table.filter((c) => c.seq > seq));
    }
    expect(vouched).toBeGreaterThan(0);
  });
});

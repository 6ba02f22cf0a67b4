import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newUuid } from '../../ids.js';
import type { PrivacyRequestRow } from '../../privacy/ports.js';
import { testDatabases } from '../../test/databases.js';
import type { Storage } from '../storage.js';

/**
 * The contract of `PrivacyRequestStore` and `SuppressionStore`, and the erasure store's scan of the ingest log, on every
 * adapter (the rest of the erasure store: erasure tests).
 */
const request = (over: Partial<PrivacyRequestRow> = {}): PrivacyRequestRow => ({
  id: newUuid(),
  type: 'erase',
  identifierType: 'email',
  identifierHash: 'a'.repeat(64),
  status: 'running',
  createdAt: 1000,
  createdBy: 'tok_x',
  completedAt: null,
  profileCount: 2,
  proof: null,
  error: null,
  ...over,
});

for (const db of testDatabases()) {
  if (db.skip) console.log(`privacy stores contract on ${db.name} skipped: ${db.skip}`);
  describe.skipIf(db.skip !== undefined)(`Privacy stores contract: ${db.name}`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await db.create();
    });
    afterEach(async () => {
      await s.close();
    });

    it('creates, finishes, reads and lists requests newest first with a cursor', async () => {
      const a = request({ createdAt: 1000 });
      const b = request({ createdAt: 2000, type: 'access' });
      const c = request({ createdAt: 3000 });
      for (const r of [a, b, c]) await s.privacyRequests.create(r);
      await s.privacyRequests.finish(a.id, {
        status: 'completed',
        completedAt: 1500,
        profileCount: 2,
        proof: { tables: { events: 3 } },
        error: null,
      });
      expect(await s.privacyRequests.get(a.id)).toEqual({
        ...a,
        status: 'completed',
        completedAt: 1500,
        proof: { tables: { events: 3 } },
      });
      expect(await s.privacyRequests.get(newUuid())).toBeUndefined();
      expect((await s.privacyRequests.list({ limit: 2 })).map((r) => r.createdAt)).toEqual([3000, 2000]);
      expect(
        (await s.privacyRequests.list({ limit: 5, before: { createdAt: 2000, id: b.id } })).map((r) => r.createdAt),
      ).toEqual([1000]);
    });

    it('adds suppression hashes once, answers which of some hashes are listed, counts them', async () => {
      expect(await s.suppressions.count()).toBe(0);
      await s.suppressions.add(['h1', 'h2'], newUuid(), 10);
      await s.suppressions.add(['h2', 'h3'], newUuid(), 20);
      expect(await s.suppressions.count()).toBe(3);
      expect((await s.suppressions.all()).sort()).toEqual(['h1', 'h2', 'h3']);
      expect(await s.suppressions.matching(['h0', 'h2', 'h3'])).toEqual(new Set(['h2', 'h3']));
      expect(await s.suppressions.matching([])).toEqual(new Set());
    });

    it('purges the events of a scope older than an instant, with their log entries', async () => {
      const source = newUuid();
      const other = newUuid();
      const positions = await s.log.append(
        [1, 2, 3, 4].map((i) => ({ sourceId: source, messageId: `m${i}`, receivedAt: i, payload: `{"n":${i}}` })),
      );
      const event = (i: number, over: Record<string, unknown>) => ({
        id: newUuid(),
        logPosition: positions[i - 1] as number,
        sourceId: source,
        type: 'page',
        name: 'Home',
        messageId: `m${i}`,
        profileId: newUuid(),
        userId: null,
        anonymousId: 'a',
        timestamp: 1000,
        receivedAt: 1000,
        properties: null,
        traits: null,
        context: null,
        ...over,
      });
      await s.events.insert([
        event(1, {}),
        event(2, { timestamp: 5000 }),
        event(3, { type: 'track', name: 'Order Completed' }),
        event(4, { sourceId: other }),
      ]);
      const purge = (rule: { sourceId?: string; type?: string; name?: string }) =>
        s.transaction((tx) => tx.retention.purgeEvents(rule, 2000, 100), { write: true });
      expect(await purge({ sourceId: source, type: 'page' })).toBe(1);
      expect(await purge({ name: 'Order Completed' })).toBe(1);
      expect(await purge({})).toBe(1);
      expect(await purge({})).toBe(0);
      expect((await s.log.read(0, 10)).map((e) => e.messageId)).toEqual(['m2']);
    });

    it('erases the log entries naming a value by ranges of positions, letting the event loop run between two', async () => {
      const source = newUuid();
      const payloads = [
        '{"userId":"1001"}',
        '{"total":10010}',
        '{"traits":{"email":"Zoe@Example.org"}}',
        '{"userId":"10011"}',
        '{"properties":{"buyer":"1001","n":1}}',
        '{"email":"zoe@example.org.uk"}',
        '{"userId":"other"}',
        '{"anonymousId":"anon-zoe"}',
        '{"userId":"1001"}',
        '{"userId":"ANON-ZOE"}',
      ];
      await s.log.append(
        payloads.map((payload, i) => ({ sourceId: source, messageId: `m${i}`, receivedAt: i, payload })),
      );
      let turns = 0;
      let stop = false;
      const count = () => {
        turns++;
        if (!stop) setImmediate(count);
      };
      setImmediate(count);
      const erased = await s.erasure.eraseLogMentions(['1001', 'zoe@example.org', 'anon-zoe'], 3);
      stop = true;
      expect(erased).toBe(5);
      // 10 positions in ranges of 3: four statements, a turn of the event loop after each.
      expect(turns).toBeGreaterThanOrEqual(4);
      expect((await s.log.read(0, 20)).map((e) => e.messageId)).toEqual(['m1', 'm3', 'm5', 'm6', 'm9']);
      expect(await s.erasure.eraseLogMentions(['1001'], 3)).toBe(0);
      expect(await s.erasure.eraseLogMentions([], 3)).toBe(0);
    });
  });
}

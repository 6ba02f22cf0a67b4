import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryRow, DestinationRow, MessageRow } from '../../destinations/ports.js';
import { newUuid } from '../../ids.js';
import { testDatabases } from '../../test/databases.js';
import type { Storage } from '../storage.js';

/** The contract of `DestinationStore`, `DeliveryStore` and `MessageStore`, on every adapter. */
const destination = (over: Partial<DestinationRow> = {}): DestinationRow => ({
  id: newUuid(),
  name: 'Hook',
  type: 'webhook',
  config: { url: 'http://127.0.0.1:1/hook', secret: 's3cret' },
  subscription: { events: { names: ['Order Completed'] } },
  purpose: 'marketing',
  channel: null,
  enabled: true,
  ratePerSecond: null,
  maxRetryHours: 48,
  version: 1,
  createdAt: 1000,
  createdBy: 'tok_a',
  updatedAt: 1000,
  updatedBy: 'tok_a',
  deletedAt: null,
  ...over,
});

const delivery = (destinationId: string, over: Partial<DeliveryRow> = {}): DeliveryRow => {
  const id = newUuid();
  const profileId = over.profileId ?? newUuid();
  return {
    id,
    profileId,
    destinationId,
    changeId: newUuid(),
    kind: 'event',
    payload: { id, kind: 'event', profileId, at: 5, identifiers: { userId: 'u1' }, traits: {} },
    status: 'pending',
    reason: null,
    syncKey: null,
    attempts: 0,
    nextAttemptAt: 100,
    leasedUntil: null,
    lastStatus: null,
    createdAt: 100,
    updatedAt: 100,
    finishedAt: null,
    ...over,
  };
};

for (const db of testDatabases()) {
  if (db.skip) console.log(`destination stores contract on ${db.name} skipped: ${db.skip}`);
  describe.skipIf(db.skip !== undefined)(`Destination stores contract: ${db.name}`, () => {
    let s: Storage;
    beforeEach(async () => {
      s = await db.create();
    });
    afterEach(async () => {
      await s.close();
    });

    it('saves destinations with a version row per save; lists live ones; keeps deleted ones on request', async () => {
      const a = destination();
      const b = destination({ name: 'Other', ratePerSecond: 2.5, channel: 'email' });
      await s.destinations.save(a);
      await s.destinations.save(b);
      expect(await s.destinations.get(a.id)).toEqual(a);
      const edited = { ...a, name: 'Renamed', version: 2, updatedAt: 2000, updatedBy: 'tok_b' };
      await s.destinations.save(edited);
      const deleted = { ...b, version: 2, deletedAt: 3000, updatedAt: 3000 };
      await s.destinations.save(deleted);
      expect((await s.destinations.list()).map((r) => r.id)).toEqual([a.id]);
      expect((await s.destinations.list({ deleted: true })).map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
      expect(await s.destinations.get(a.id)).toEqual(edited);
      const versions = await s.destinations.versions(a.id);
      expect(versions.map((v) => [v.version, v.name, v.createdBy, v.deleted])).toEqual([
        [1, 'Hook', 'tok_a', false],
        [2, 'Renamed', 'tok_b', false],
      ]);
      expect((await s.destinations.versions(b.id)).at(-1)?.deleted).toBe(true);
      expect(await s.destinations.get(newUuid())).toBeUndefined();
    });

    it('takes tokens from a bucket that refills at the rate and holds at most the burst', async () => {
      const id = newUuid();
      const take = (want: number, now: number) =>
        s.transaction((tx) => tx.destinations.takeTokens(id, want, 10, 20, now), { write: true });
      expect(await take(50, 0)).toBe(20);
      expect(await take(5, 0)).toBe(0);
      expect(await take(50, 500)).toBe(5);
      expect(await take(50, 60_000)).toBe(20);
      expect(await take(3, 60_000)).toBe(0);
    });

    it('transactions taking tokens at once share one bucket, a new one too', async () => {
      const id = newUuid();
      // Four transactions at once (the pool's connections opened first), each holding its transaction a moment.
      await Promise.all([1, 2, 3, 4].map(() => s.transaction((tx) => tx.destinations.versions(id))));
      const take = () =>
        s.transaction(
          async (tx) => {
            const n = await tx.destinations.takeTokens(id, 15, 10, 40, 0);
            await new Promise((r) => setTimeout(r, 30));
            return n;
          },
          { write: true },
        );
      const taken = await Promise.all([take(), take(), take(), take()]);
      expect(taken.reduce((a, b) => a + b, 0)).toBe(40);
    });

    it('enqueues once per id, claims due rows oldest first, skips leased ones, settles under the lease only', async () => {
      const dest = newUuid();
      const rows = [
        delivery(dest, { nextAttemptAt: 300 }),
        delivery(dest, { nextAttemptAt: 100 }),
        delivery(dest, { nextAttemptAt: 200 }),
        delivery(dest, { nextAttemptAt: 500_000 }),
        delivery(newUuid(), { nextAttemptAt: 100 }),
      ];
      expect(await s.deliveries.enqueue(rows, 100)).toBe(5);
      expect(await s.deliveries.enqueue([rows[0] as DeliveryRow, delivery(dest)], 100)).toBe(1);
      const claimed = await s.transaction((tx) => tx.deliveries.claim(dest, 1_000, 61_000, 2), { write: true });
      expect(claimed.map((r) => r.nextAttemptAt)).toEqual([100, 100]);
      expect(claimed.every((r) => r.leasedUntil === 61_000)).toBe(true);
      const next = await s.transaction((tx) => tx.deliveries.claim(dest, 1_000, 62_000, 10), { write: true });
      expect(next.map((r) => r.nextAttemptAt)).toEqual([200, 300]);
      // A lapsed lease is claimed again.
      const again = await s.transaction((tx) => tx.deliveries.claim(dest, 61_500, 70_000, 10), { write: true });
      expect(again.map((r) => r.id).sort()).toEqual(claimed.map((r) => r.id).sort());
      const [first] = again as [DeliveryRow];
      const settle = (lease: number) =>
        s.deliveries.settle([
          {
            profileId: first.profileId,
            id: first.id,
            lease,
            status: 'delivered',
            reason: null,
            lastStatus: 200,
            attempted: 1,
            nextAttemptAt: first.nextAttemptAt,
            finishedAt: 61_600,
            at: 61_600,
          },
        ]);
      await settle(61_000); // the old lease: nothing changes
      expect((await s.deliveries.get(dest, [first.id]))[0]?.status).toBe('pending');
      await settle(70_000);
      const [done] = await s.deliveries.get(dest, [first.id]);
      expect(done).toMatchObject({
        status: 'delivered',
        attempts: 1,
        lastStatus: 200,
        leasedUntil: null,
        finishedAt: 61_600,
      });
      expect(await s.deliveries.nextDue(dest, 1_000)).toBe(62_000); // every due row is in flight: the first lease to lapse
      expect(await s.deliveries.counts(dest)).toEqual({ pending: 4, delivered: 1, dead: 0, skipped: 0 });
      const latency = await s.deliveries.latency(dest, 0);
      expect(latency).toEqual({ count: 1, p50: 61_500, p99: 61_500 });
    });

    it('supersedes a pending row of the same sync key, in the batch and in the store, never a leased one', async () => {
      const dest = newUuid();
      const profileId = newUuid();
      const enter = delivery(dest, { profileId, syncKey: 'vip', kind: 'audience' });
      await s.deliveries.enqueue([enter], 100);
      const exit = delivery(dest, { profileId, syncKey: 'vip', kind: 'audience' });
      const enterAgain = delivery(dest, { profileId, syncKey: 'vip', kind: 'audience' });
      await s.deliveries.enqueue([exit, enterAgain], 200);
      const rows = await s.deliveries.get(dest, [enter.id, exit.id, enterAgain.id]);
      const status = Object.fromEntries(rows.map((r) => [r.id, [r.status, r.reason]]));
      expect(status).toEqual({
        [enter.id]: ['skipped', 'superseded'],
        [exit.id]: ['skipped', 'superseded'],
        [enterAgain.id]: ['pending', null],
      });
      // Routed again (a redelivered change): its row exists, and it does not supersede the newer state.
      await s.deliveries.enqueue([{ ...exit, status: 'pending', reason: null }], 250);
      expect((await s.deliveries.get(dest, [enterAgain.id]))[0]?.status).toBe('pending');
      // In flight: left alone, the next state waits behind it.
      await s.transaction((tx) => tx.deliveries.claim(dest, 1_000, 9_000, 10), { write: true });
      const later = delivery(dest, { profileId, syncKey: 'vip', kind: 'audience' });
      await s.deliveries.enqueue([later], 300);
      expect((await s.deliveries.get(dest, [enterAgain.id]))[0]?.status).toBe('pending');
      // A leased row is due again when its lease lapses; the new one now.
      expect(await s.deliveries.nextDue(dest, 2_000)).toBe(later.nextAttemptAt);
      await s.transaction((tx) => tx.deliveries.claim(dest, 2_000, 12_000, 10), { write: true });
      expect(await s.deliveries.nextDue(dest, 3_000)).toBe(9_000);
    });

    it('lists newest first with a cursor and a status; replays dead rows; purges finished ones', async () => {
      const dest = newUuid();
      const rows = [1, 2, 3, 4].map((i) =>
        delivery(dest, { createdAt: i * 10, status: i % 2 ? 'dead' : 'delivered', finishedAt: i * 10 }),
      );
      await s.deliveries.enqueue(rows, 50);
      const page = await s.deliveries.list(dest, { limit: 2 });
      expect(page.map((r) => r.createdAt)).toEqual([40, 30]);
      const rest = await s.deliveries.list(dest, {
        limit: 5,
        before: { createdAt: 30, id: (page[1] as DeliveryRow).id },
      });
      expect(rest.map((r) => r.createdAt)).toEqual([20, 10]);
      expect((await s.deliveries.list(dest, { limit: 5, status: 'dead' })).map((r) => r.createdAt)).toEqual([30, 10]);
      expect(await s.deliveries.replay(dest, [(rows[0] as DeliveryRow).id], 1_000)).toBe(1);
      expect(await s.deliveries.replay(dest, 'all', 1_000)).toBe(1);
      expect(await s.deliveries.replay(dest, 'all', 1_000)).toBe(0);
      const replayed = await s.deliveries.get(dest, [(rows[0] as DeliveryRow).id]);
      expect(replayed[0]).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: 1_000, finishedAt: null });
      expect(await s.deliveries.purge(35, 100)).toBe(1);
      expect(await s.deliveries.counts(dest)).toEqual({ pending: 2, delivered: 1, dead: 0, skipped: 0 });
    });

    it('ofProfiles gives every row of these profiles, every destination, by createdAt then id', async () => {
      const [p, q] = [newUuid(), newUuid()];
      const rows = [
        delivery(newUuid(), { profileId: p, createdAt: 30 }),
        delivery(newUuid(), { profileId: q, createdAt: 10, status: 'dead', finishedAt: 20 }),
        delivery(newUuid(), { profileId: newUuid(), createdAt: 5 }),
        delivery(newUuid(), { profileId: p, createdAt: 20 }),
      ];
      await s.deliveries.enqueue(rows, 50);
      expect(await s.deliveries.ofProfiles([p, q])).toEqual([rows[1], rows[3], rows[0]]);
      expect(await s.deliveries.ofProfiles([])).toEqual([]);
    });

    it('two transactions claiming at once never claim the same row', async () => {
      const dest = newUuid();
      await s.deliveries.enqueue(
        Array.from({ length: 40 }, () => delivery(dest)),
        100,
      );
      const claim = () => s.transaction((tx) => tx.deliveries.claim(dest, 1_000, 60_000, 25), { write: true });
      const [a, b] = await Promise.all([claim(), claim()]);
      const ids = [...(a ?? []), ...(b ?? [])].map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(40);
    });

    it('records messages, reads them since an instant, removes reservations; lock serialises two transactions', async () => {
      const p = newUuid();
      const m = (at: number, over: Partial<MessageRow> = {}): MessageRow => ({
        id: newUuid(),
        profileId: p,
        channel: 'email',
        at,
        destinationId: null,
        deliveryId: null,
        origin: 'event',
        ...over,
      });
      const rows = [m(10), m(20, { channel: 'sms', origin: 'destination' }), m(30)];
      await s.messages.insert(rows);
      await s.messages.insert([rows[0] as MessageRow]);
      expect((await s.messages.since([p], 15)).map((r) => [r.at, r.channel, r.origin])).toEqual([
        [20, 'sms', 'destination'],
        [30, 'email', 'event'],
      ]);
      await s.messages.remove([{ profileId: p, id: (rows[2] as MessageRow).id }]);
      expect((await s.messages.since([p], 0)).length).toBe(2);
      // Check-then-reserve under the lock: of two racing transactions, only one sees room for a third message.
      const reserve = () =>
        s.transaction(
          async (tx) => {
            await tx.messages.lock([p]);
            const have = await tx.messages.since([p], 0);
            await new Promise((r) => setTimeout(r, 30));
            if (have.length >= 3) return false;
            await tx.messages.insert([m(40)]);
            return true;
          },
          { write: true },
        );
      const results = await Promise.all([reserve(), reserve()]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await s.messages.since([p], 0)).length).toBe(3);
    });
  });
}

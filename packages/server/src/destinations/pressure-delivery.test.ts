import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { DeliveryMessage, PressurePolicy } from '@tessera/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { derivedUuid, newUuid } from '../ids.js';
import { createPostgresStorage } from '../storage/postgres/create-postgres-storage.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { createTestSchema, testDatabases, testDatabaseUrl } from '../test/databases.js';
import { BACKOFF } from './backoff.js';
import { type DeliverDeps, deliverRound } from './deliver.js';
import type { DestinationPlugin } from './plugin.js';
import type { DeliveryRow, DestinationRow } from './ports.js';
import { PRESSURE_KEY } from './pressure.js';
import { routeChanges } from './route.js';

/**
 * Marketing pressure inside delivery rounds (DESIGN §7), on every adapter: reservations, hold and drop, the time-zone
 * order, `Message Sent` events counted, a dead-lettered send giving its slot back, and two workers racing for a
 * person's last slot.
 */

const NOW = Date.UTC(2026, 10, 20, 12, 0); // 13:00 in Paris
const sends: DeliveryMessage[][] = [];
let answer: 'ok' | 'drop' = 'ok';
const emailPlugin: DestinationPlugin = {
  type: 'test-email',
  title: 'Test e-mail',
  description: 'records sends',
  configSchema: Type.Object({}),
  maxBatch: 10,
  channel: 'email',
  kinds: ['event', 'profile', 'audience'],
  async send(batch) {
    sends.push([...batch]);
    await new Promise((r) => setTimeout(r, 20));
    return answer === 'ok' ? { kind: 'ok' } : { kind: 'drop', reason: 'refused', status: 400 };
  },
};

const deps = (storage: Storage, now = NOW): DeliverDeps => ({
  storage,
  logger: pino({ level: 'silent' }),
  clock: () => now,
  random: () => 0.5,
  fetch,
  timeoutMs: 5000,
  leaseMs: 60_000,
  resource: async (_k, open) => open(),
  signal: new AbortController().signal,
  backoff: BACKOFF,
});

const destination = (over: Partial<DestinationRow> = {}): DestinationRow => ({
  id: newUuid(),
  name: 'mail',
  type: 'test-email',
  config: {},
  subscription: { profiles: true },
  purpose: null,
  channel: 'email',
  enabled: true,
  ratePerSecond: null,
  maxRetryHours: 48,
  version: 1,
  createdAt: 0,
  createdBy: 't',
  updatedAt: 0,
  updatedBy: 't',
  deletedAt: null,
  ...over,
});

async function setPolicy(storage: Storage, policy: Partial<PressurePolicy>) {
  await storage.settings.put(
    PRESSURE_KEY,
    { caps: [], quietHours: null, defaultTimezone: 'UTC', overCap: 'hold', ...policy },
    't',
    0,
  );
}

async function profile(storage: Storage, traits: Record<string, unknown> = {}) {
  const id = newUuid();
  await storage.profiles.create({ id, createdAt: 0, updatedAt: 0, traits, traitTimes: {} });
  return id;
}

/** One pending profile message for `profileId` to destination `d`, due at NOW. */
async function queue(storage: Storage, d: DestinationRow, profileId: string, traits: Record<string, unknown> = {}) {
  const id = newUuid();
  const row: DeliveryRow = {
    id,
    profileId,
    destinationId: d.id,
    changeId: newUuid(),
    kind: 'profile',
    payload: { id, kind: 'profile', profileId, at: NOW, identifiers: {}, traits },
    status: 'pending',
    reason: null,
    syncKey: null,
    attempts: 0,
    nextAttemptAt: NOW,
    leasedUntil: null,
    lastStatus: null,
    createdAt: NOW,
    updatedAt: NOW,
    finishedAt: null,
  };
  await storage.deliveries.enqueue([row], NOW);
  return id;
}

const statusOf = async (storage: Storage, d: DestinationRow, id: string) =>
  (await storage.deliveries.get(d.id, [id]))[0] as DeliveryRow;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  sends.length = 0;
  answer = 'ok';
  for (const c of closers.splice(0).reverse()) await c();
});

for (const db of testDatabases()) {
  if (db.skip) console.log(`pressure delivery tests on ${db.name} skipped: ${db.skip}`);
  describe.skipIf(db.skip !== undefined)(`pressure in delivery rounds: ${db.name}`, () => {
    const open = async () => {
      const s = await db.create();
      closers.push(() => s.close());
      return s;
    };

    it('reserves a slot per send; over the cap a message is held until the slot frees, without an attempt', async () => {
      const s = await open();
      await setPolicy(s, { caps: [{ channel: 'any', max: 1, days: 7 }] });
      const d = destination();
      const p = await profile(s);
      const first = await queue(s, d, p);
      const second = await queue(s, d, p);
      const r = await deliverRound(deps(s), d, emailPlugin);
      expect(r).toMatchObject({ delivered: 1, held: 1 });
      const held = [await statusOf(s, d, first), await statusOf(s, d, second)].find((x) => x.status === 'pending');
      expect(held).toMatchObject({ attempts: 0, nextAttemptAt: NOW + 7 * 86_400_000 + 1 });
      expect(held?.reason).toMatch(/^held \(cap\): at most 1 message per 7 days/);
      expect((await s.messages.since([p], 0)).map((m) => [m.origin, m.channel])).toEqual([['destination', 'email']]);
    });

    it('with overCap "drop", skips the message and records the rule', async () => {
      const s = await open();
      await setPolicy(s, { caps: [{ channel: 'email', max: 0, days: 1 }], overCap: 'drop' });
      const d = destination();
      const id = await queue(s, d, await profile(s));
      await deliverRound(deps(s), d, emailPlugin);
      expect(await statusOf(s, d, id)).toMatchObject({
        status: 'skipped',
        reason: 'pressure: at most 0 email messages per 1 day (0 sent)',
      });
      expect(sends).toEqual([]);
    });

    it('quiet hours use the timezone trait, else the last context.timezone, else the default', async () => {
      const s = await open();
      // 12:00 UTC: quiet from 11:00 to 15:00 only where local time falls in it.
      await setPolicy(s, { quietHours: { start: '11:00', end: '15:00' }, defaultTimezone: 'Asia/Tokyo' });
      const d = destination();
      const tokyo = await profile(s); // default: 21:00 in Tokyo, not quiet
      const paris = await profile(s, { timezone: 'Europe/Paris' }); // 13:00: quiet
      const fromEvent = await profile(s); // context.timezone America/New_York: 07:00, not quiet
      const badTrait = await profile(s, { timezone: 'Mars/Olympus' }); // unknown: falls to the event, London 12:00: quiet
      for (const [p, tz] of [
        [fromEvent, 'America/New_York'],
        [badTrait, 'Europe/London'],
      ] as const)
        await s.events.insert([
          {
            id: newUuid(),
            logPosition: 1,
            sourceId: newUuid(),
            type: 'page',
            name: null,
            messageId: newUuid(),
            profileId: p,
            userId: null,
            anonymousId: 'a',
            timestamp: NOW - 1000,
            receivedAt: NOW - 1000,
            properties: null,
            traits: null,
            context: { timezone: tz },
          },
        ]);
      const ids = {
        tokyo: await queue(s, d, tokyo),
        paris: await queue(s, d, paris, { timezone: 'Europe/Paris' }),
        fromEvent: await queue(s, d, fromEvent),
        badTrait: await queue(s, d, badTrait, { timezone: 'Mars/Olympus' }),
      };
      await deliverRound(deps(s), d, emailPlugin);
      const status = async (id: string) => (await statusOf(s, d, id)).status;
      expect({
        tokyo: await status(ids.tokyo),
        paris: await status(ids.paris),
        fromEvent: await status(ids.fromEvent),
        badTrait: await status(ids.badTrait),
      }).toEqual({ tokyo: 'delivered', paris: 'pending', fromEvent: 'delivered', badTrait: 'pending' });
      expect((await statusOf(s, d, ids.paris)).nextAttemptAt).toBe(Date.UTC(2026, 10, 20, 14, 0));
    });

    it('counts Message Sent events from other tools, by channel', async () => {
      const s = await open();
      await setPolicy(s, { caps: [{ channel: 'sms', max: 1, days: 7 }] });
      const p = await profile(s);
      const eventId = newUuid();
      await s.events.insert([
        {
          id: eventId,
          logPosition: 1,
          sourceId: newUuid(),
          type: 'track',
          name: 'Message Sent',
          messageId: newUuid(),
          profileId: p,
          userId: 'u',
          anonymousId: null,
          timestamp: NOW - 3600_000,
          receivedAt: NOW,
          properties: { channel: 'SMS' },
          traits: null,
          context: null,
        },
      ]);
      const change = {
        seq: 1,
        id: newUuid(),
        kind: 'event.stored',
        profileId: p,
        payload: { eventId, type: 'track', name: 'Message Sent' },
        createdAt: NOW,
      };
      const out = await s.transaction((tx) => routeChanges(tx, [change, change], [], NOW), { write: true });
      expect(out.messages).toBe(2);
      expect((await s.messages.since([p], 0)).map((m) => [m.origin, m.channel, m.id])).toEqual([
        ['event', 'sms', derivedUuid('message', eventId)],
      ]);
      const smsDestination = destination({ channel: 'sms' });
      const id = await queue(s, smsDestination, p);
      await deliverRound(deps(s), smsDestination, emailPlugin);
      expect((await statusOf(s, smsDestination, id)).reason).toMatch(/^held \(cap\): at most 1 sms message/);
    });

    it('a dead-lettered send gives its slot back', async () => {
      const s = await open();
      await setPolicy(s, { caps: [{ channel: 'any', max: 1, days: 7 }] });
      const d = destination();
      const p = await profile(s);
      answer = 'drop';
      const id = await queue(s, d, p);
      await deliverRound(deps(s), d, emailPlugin);
      expect((await statusOf(s, d, id)).status).toBe('dead');
      expect(await s.messages.since([p], 0)).toEqual([]);
    });
  });
}

describe('two workers racing for a person’s last slot', () => {
  const url = testDatabaseUrl();
  const stores: { name: string; open: () => Promise<[Storage, Storage]> }[] = [
    {
      // Embedded mode has one writer: its delivery loops share one connection (two connections in one thread would
      // block each other's event loop), so the race is two rounds interleaving on it.
      name: 'sqlite (two loops on the embedded writer)',
      async open() {
        const dir = mkdtempSync(path.join(tmpdir(), 'tessera-pressure-'));
        const a = createSqliteStorage({ file: path.join(dir, 'tessera.db') });
        await a.migrate();
        closers.push(async () => {
          await a.close();
          rmSync(dir, { recursive: true, force: true });
        });
        return [a, a];
      },
    },
    ...(url
      ? [
          {
            name: 'postgres (two pools)',
            async open(): Promise<[Storage, Storage]> {
              const schema = await createTestSchema(url);
              const a = await createPostgresStorage({ url: schema.url, poolSize: 2 });
              await a.migrate();
              const b = await createPostgresStorage({ url: schema.url, poolSize: 2 });
              closers.push(async () => {
                await a.close();
                await b.close();
              });
              return [a, b];
            },
          },
        ]
      : []),
  ];
  it.each(stores)('$name: exactly one of two concurrent sends takes it', async ({ open }) => {
    const [a, b] = await open();
    await setPolicy(a, { caps: [{ channel: 'any', max: 3, days: 7 }] });
    const p = await profile(a);
    await a.messages.insert(
      [1, 2].map((h) => ({
        id: newUuid(),
        profileId: p,
        channel: 'email',
        at: NOW - h * 3600_000,
        destinationId: null,
        deliveryId: null,
        origin: 'event' as const,
      })),
    );
    // Two destinations, one pending message each for the same person, delivered by two workers at once, 20 times.
    let delivered = 0;
    for (let round = 0; round < 20; round++) {
      const [d1, d2] = [destination(), destination()];
      const q = await profile(a);
      await a.messages.insert(
        [1, 2].map((h) => ({
          id: newUuid(),
          profileId: q,
          channel: 'email',
          at: NOW - h * 3600_000,
          destinationId: null,
          deliveryId: null,
          origin: 'event' as const,
        })),
      );
      await queue(a, d1, q);
      await queue(a, d2, q);
      const [r1, r2] = await Promise.all([
        deliverRound(deps(a), d1, emailPlugin),
        deliverRound(deps(b), d2, emailPlugin),
      ]);
      expect(r1.delivered + r2.delivered, `round ${round}`).toBe(1);
      expect(r1.held + r2.held, `round ${round}`).toBe(1);
      expect((await a.messages.since([q], 0)).length).toBe(3);
      delivered++;
    }
    expect(delivered).toBe(20);
  });
});

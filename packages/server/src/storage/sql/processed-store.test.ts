import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProcessedMessageStore } from '../../ingest/ports.js';
import { sqliteDialect } from '../dialect.js';
import { migrateToLatest } from '../migrate.js';
import { openSqlite } from '../sqlite/create-sqlite-database.js';
import { clustered, createProcessedMessageStore, processedKeyHash } from './processed-store.js';

/**
 * The two levels of the de-dup keys on SQLite (`processed-store.ts`): which level a batch's keys go to, the merge
 * in slices, and exact look-ups across both at every step. The port's contract (both adapters) is in
 * `contract/storage.contract.test.ts`.
 */

const SOURCE = randomUUID();
const row = (messageId: string, sourceId = SOURCE, logPosition = 0) => ({
  sourceId,
  messageId,
  eventId: null,
  processedAt: 1_000 + logPosition,
  logPosition,
});

describe('processed-message store in two levels (SQLite)', () => {
  let sqlite: ReturnType<typeof openSqlite>;
  let store: ProcessedMessageStore;
  const count = (table: string) => Number(sqlite.raw.prepare(`select count(*) from ${table}`).pluck().get());

  beforeEach(async () => {
    sqlite = openSqlite({ file: ':memory:' });
    await migrateToLatest(sqlite.db, sqliteDialect, 'main');
    store = createProcessedMessageStore(sqlite.db, sqliteDialect, 100);
  });
  afterEach(async () => {
    await sqlite.db.destroy();
  });

  it('tells clustered ids (a counter, a request number) from scattered ones (uuid v4)', () => {
    const table: [string, string[], boolean][] = [
      ['request-index ids', Array.from({ length: 100 }, (_, i) => `1234-${i}`), true],
      ['a zero-padded counter', Array.from({ length: 50 }, (_, i) => `bench-${String(i).padStart(8, '0')}`), true],
      ['uuid v4', Array.from({ length: 100 }, () => randomUUID()), false],
      ['too few to tell', ['1-1', '1-2', '1-3'], false],
      ['empty', [], false],
    ];
    for (const [what, ids, expected] of table) expect(clustered(ids), what).toBe(expected);
  });

  it('hashes a key to a signed 32-bit integer that depends on the source and the id', () => {
    const h = processedKeyHash('s', 'm');
    expect(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31).toBe(true);
    expect(processedKeyHash('s', 'm')).toBe(h);
    expect(processedKeyHash('sm', '')).not.toBe(processedKeyHash('s', 'm'));
    expect(processedKeyHash('t', 'm')).not.toBe(h);
  });

  it('writes clustered batches to the unique index and scattered ones to the recent level', async () => {
    await store.insert(Array.from({ length: 40 }, (_, i) => row(`r1-${i}`)));
    expect([count('processed_messages'), count('processed_recent')]).toEqual([40, 0]);
    const scattered = Array.from({ length: 30 }, () => randomUUID());
    await store.insert(scattered.map((m) => row(m)));
    expect([count('processed_messages'), count('processed_recent')]).toEqual([40, 30]);
    const asked = [...scattered.slice(0, 5), 'r1-3', 'r1-39', 'r1-40', randomUUID()];
    expect([...(await store.existing(SOURCE, asked))].sort()).toEqual(
      [...scattered.slice(0, 5), 'r1-3', 'r1-39'].sort(),
    );
    expect((await store.existing(randomUUID(), asked)).size).toBe(0);
    expect(await store.processedAt(SOURCE, [scattered[0], 'r1-2'])).toEqual(
      new Map([
        ['r1-2', 1_000],
        [scattered[0], 1_000],
      ]),
    );
  });

  it('finds a key whose hash another key shares only for that key', async () => {
    // Two ids with one hash: look-ups compare the key itself, not the hash.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const m = `k${i}`;
      const h = processedKeyHash(SOURCE, m);
      const other = seen.get(h);
      if (other) pair = [other, m];
      else seen.set(h, m);
    }
    await store.insert([row(pair[0])]);
    expect([...(await store.existing(SOURCE, pair))]).toEqual([pair[0]]);
  });

  it('merges the recent keys in slices, every key found exactly once at every step', async () => {
    const all: string[] = [];
    const other = randomUUID();
    let position = 0;
    let merges = 0;
    for (let batch = 0; batch < 40; batch++) {
      const ids = Array.from({ length: 9 }, () => randomUUID());
      all.push(...ids);
      await store.insert(ids.map((m, i) => row(m, i % 3 === 0 ? other : SOURCE, ++position)));
      if (count('processed_merge') > 0) merges++;
      const sample = [...all.slice(-20), ...all.slice(0, 20)];
      const found = new Set([...(await store.existing(SOURCE, sample)), ...(await store.existing(other, sample))]);
      expect(found.size, `after batch ${batch}`).toBe(new Set(sample).size);
      const stored = Number(
        sqlite.raw
          .prepare(
            'select count(*) from (select source_id, message_id from processed_messages union select source_id, message_id from processed_recent)',
          )
          .pluck()
          .get(),
      );
      expect(stored, `after batch ${batch}`).toBe(all.length);
    }
    expect(merges).toBeGreaterThan(0);
    // Every merged key sits in the unique index; the recent level holds only what came after the last merge.
    expect(count('processed_messages')).toBeGreaterThanOrEqual(100);
    expect(count('processed_recent')).toBeLessThan(200);
    const bySource = (s: string) => all.filter((_, i) => ((i % 9) % 3 === 0) === (s === other));
    expect((await store.existing(SOURCE, bySource(SOURCE))).size).toBe(bySource(SOURCE).length);
    expect((await store.existing(other, bySource(other))).size).toBe(bySource(other).length);
    expect((await store.existing(other, bySource(SOURCE))).size).toBe(0);
  });

  it('merges a key written twice by a careless caller once, without stopping', async () => {
    const twice = randomUUID();
    await store.insert([row(twice)]);
    await store.insert([row(twice, SOURCE, 7)]);
    for (let i = 0; i < 30; i++) await store.insert(Array.from({ length: 9 }, () => row(randomUUID())));
    expect(
      Number(sqlite.raw.prepare('select count(*) from processed_messages where message_id = ?').pluck().get(twice)),
    ).toBe(1);
    expect([...(await store.existing(SOURCE, [twice]))]).toEqual([twice]);
  });

  it('goes on with a merge from its last key after a restart (the sorted order is rebuilt)', async () => {
    const ids = Array.from({ length: 200 }, () => randomUUID());
    for (let i = 0; i < 100; i += 10) await store.insert(ids.slice(i, i + 10).map((m) => row(m)));
    await store.insert(ids.slice(100, 110).map((m) => row(m)));
    expect(count('processed_merge')).toBe(1);
    const merged = count('processed_messages');
    expect(merged).toBeGreaterThan(0);
    // A new connection has no temporary tables: the order of what is left is read again from the cursor.
    sqlite.raw.exec('drop table temp.processed_merge_order');
    for (let i = 110; i < 200; i += 10) await store.insert(ids.slice(i, i + 10).map((m) => row(m)));
    expect(count('processed_messages')).toBeGreaterThanOrEqual(100);
    const distinct = Number(
      sqlite.raw
        .prepare('select count(*) from (select distinct source_id, message_id from processed_messages)')
        .pluck()
        .get(),
    );
    expect(distinct).toBe(count('processed_messages'));
    expect((await store.existing(SOURCE, ids)).size).toBe(200);
  });

  it("keeps the merge's cursor on the slice's last key when an erasure deleted that key's row", async () => {
    const ids = Array.from({ length: 120 }, () => randomUUID());
    for (let i = 0; i < 100; i += 10) await store.insert(ids.slice(i, i + 10).map((m) => row(m)));
    expect(count('processed_merge')).toBe(1);
    // The next slice's last key, in merge order, erased before the slice is merged.
    const order = sqlite.raw
      .prepare('select source_id, message_id from temp.processed_merge_order order by n')
      .all() as { source_id: string; message_id: string }[];
    const sliceLast = order[Math.ceil(100 / 8) - 1];
    sqlite.raw
      .prepare('delete from processed_recent where source_id = ? and message_id = ?')
      .run(sliceLast.source_id, sliceLast.message_id);
    await store.insert([row(ids[100])]);
    const cursor = sqlite.raw.prepare('select after_source, after_message from processed_merge').get();
    expect(cursor).toEqual({ after_source: sliceLast.source_id, after_message: sliceLast.message_id });
    for (let i = 101; i < 120; i++) await store.insert([row(ids[i])]);
    for (let i = 0; i < 20 && count('processed_merge') > 0; i++) await store.insert([row(randomUUID())]);
    expect(count('processed_merge')).toBe(0);
    const found = await store.existing(SOURCE, ids);
    expect(found.has(sliceLast.message_id)).toBe(false);
    expect(found.size).toBe(ids.length - 1);
  });

  it('rolls a merge slice back with its batch, and goes on from the same key after', async () => {
    const ids = Array.from({ length: 110 }, () => randomUUID());
    for (let i = 0; i < 100; i += 10) await store.insert(ids.slice(i, i + 10).map((m) => row(m)));
    expect(count('processed_merge')).toBe(1);
    const before = count('processed_messages');
    await expect(
      sqlite.db.transaction().execute(async (trx) => {
        await createProcessedMessageStore(trx, sqliteDialect, 100).insert(ids.slice(110).map((m) => row(m)));
        throw new Error('the batch failed');
      }),
    ).rejects.toThrow('the batch failed');
    expect(count('processed_messages')).toBe(before);
    expect((await store.existing(SOURCE, ids)).size).toBe(100);
    await store.insert(ids.slice(100).map((m) => row(m)));
    for (let i = 0; i < 20 && count('processed_merge') > 0; i++) await store.insert([row(randomUUID())]);
    expect(count('processed_merge')).toBe(0);
    expect((await store.existing(SOURCE, ids)).size).toBe(110);
  });
});

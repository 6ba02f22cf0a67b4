import { describe, expect, it } from 'vitest';
import { newUuid } from '../ids.js';
import { createSeededRandom } from '../seeded-random.js';
import { storagePair } from '../test/storage-pair.js';
import { cacheHistoryStore } from './cached-history-store.js';
import type { HistoryRow, HistoryStore } from './ports.js';

const stores = storagePair();

const PROFILES = ['p1', 'p2', 'p3'];
const TRAITS = ['email', 'plan'];

/**
 * Runs the same random operations on the bare store of one database and, inside transactions, on the cached store
 * over another (a transaction per "batch", flushed at its end as the pipeline does); every answer must be the same,
 * and so must both tables at the end.
 */
async function compare(seed: number, ops: number) {
  const random = createSeededRandom(seed);
  const rnd = random.next;
  const [cached, bare] = [stores.cached(), stores.bare()];
  const pick = random.pick;
  const ids: string[] = [];
  const profiles = [...PROFILES];
  const log: string[] = [];
  let op = 0;
  while (op < ops) {
    await cached.transaction(async (tx) => {
      const store = cacheHistoryStore(tx.history);
      // A profile created in this batch, as the pipeline tells the cache; a stored one in later batches.
      const created = `new-${seed}-${op}`;
      store.created(created);
      profiles.push(created);
      const batchEnd = op + 1 + Math.floor(rnd() * 12);
      for (; op < Math.min(ops, batchEnd); op++) {
        const kind = rnd();
        const run = async (f: (s: HistoryStore) => Promise<unknown>) => {
          const [a, b] = [await f(store), await f(bare.history)];
          expect(a, `seed ${seed}, op ${op}: ${log.slice(-4).join(' | ')}`).toEqual(b);
        };
        if (kind < 0.35) {
          const rows: HistoryRow[] = [];
          for (let n = 1 + Math.floor(rnd() * 2); n > 0; n--) {
            const validFrom = Math.floor(rnd() * 10);
            const row: HistoryRow = {
              id: newUuid(),
              profileId: pick(profiles),
              trait: pick(TRAITS),
              value: pick(['a', 'b', { x: 1 }, 3]),
              validFrom,
              validTo: rnd() < 0.5 ? null : validFrom + 1 + Math.floor(rnd() * 5),
              recordedAt: op,
              supersededAt: rnd() < 0.1 ? op : null,
              sourceId: 's',
              eventId: null,
            };
            rows.push(row);
            ids.push(row.id);
          }
          log.push(`insert ${rows.length}`);
          await run((s) => s.insert(rows));
        } else if (kind < 0.5 && ids.length > 0) {
          const chosen = [pick(ids), pick(ids)];
          log.push('supersede');
          await run((s) => s.supersede(chosen, op));
        } else if (kind < 0.65 && ids.length > 0) {
          const id = pick(ids);
          log.push('close');
          await run((s) => s.close([id], op));
        } else if (kind < 0.95) {
          const chosen = rnd() < 0.8 ? [pick(profiles)] : [pick(profiles), pick(profiles)];
          const trait = pick(TRAITS);
          log.push(`intervals ${chosen} ${trait}`);
          await run((s) => s.intervals(chosen, trait));
        } else {
          const chosen = [pick(profiles)];
          log.push('current / all');
          await run((s) => s.current(chosen));
          await run((s) => s.all(chosen));
        }
      }
      await store.flush();
    });
  }
  expect(await cached.history.all(profiles)).toEqual(await bare.history.all(profiles));
}

describe('cacheHistoryStore', () => {
  it('answers and writes as the bare store does, over random batches of operations', async () => {
    for (let seed = 1; seed <= 60; seed++) await compare(seed, 60);
  });

  it('writes a batch of trait changes in one insert and one update per distinct time', async () => {
    const statements: string[] = [];
    const counting: HistoryStore = {
      ...stores.bare().history,
      insert: async (rows) => void statements.push(`insert ${rows.length}`),
      supersede: async (ids, at) => void statements.push(`supersede ${ids.length} at ${at}`),
      close: async (ids, at) => void statements.push(`close ${ids.length} at ${at}`),
      intervals: async () => [],
    };
    const store = cacheHistoryStore(counting);
    const row = (profileId: string, validFrom: number): HistoryRow => ({
      id: newUuid(),
      profileId,
      trait: 'plan',
      value: 'gold',
      validFrom,
      validTo: null,
      recordedAt: 100,
      supersededAt: null,
      sourceId: 's',
      eventId: null,
    });
    const [a, b] = [row('p1', 1), row('p2', 1)];
    await store.insert([a, b]);
    // Read back from memory: the open row of p1 closes, a new one opens; p2's is superseded.
    const [open] = await store.intervals(['p1'], 'plan');
    expect(open.id).toBe(a.id);
    await store.close([a.id], 5);
    await store.insert([row('p1', 5)]);
    await store.supersede([b.id], 100);
    expect((await store.intervals(['p2'], 'plan')).length).toBe(0);
    expect(statements).toEqual([]);
    await store.flush();
    // The closed and superseded rows were written by this batch: they go in the insert as they are now.
    expect(statements).toEqual(['insert 3']);
  });
});

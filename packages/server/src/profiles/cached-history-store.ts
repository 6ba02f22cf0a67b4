import type { HistoryRow, HistoryStore } from './ports.js';

const keyOf = (profileId: string, trait: string) => `${profileId}\u0000${trait}`;
const byValidFrom = (a: HistoryRow, b: HistoryRow) =>
  a.validFrom - b.validFrom || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * A `HistoryStore` that keeps, for the life of one pipeline transaction, the current-knowledge rows of each
 * (profile, trait) it read or wrote, and holds its writes back: the batch's new rows go in one multi-row insert and
 * its supersessions and closes in one update per distinct time, at `flush` (the end of the batch, or before a read
 * this store does not answer: `all`, `current`). Before, a trait change cost up to three single-row statements.
 *
 * `intervals` answers from memory once a (profile, trait) has been read in the batch: the store's rows, with what
 * the batch did to them, and the rows the batch inserted. Rows are handed out and taken in as copies. Same validity
 * rules as {@link import('../identity/cached-identity-store.js').cacheIdentityStore}: trait history is written only
 * through this port, by the one pipeline transaction, and never under savepoints (the isolated mode works on the
 * bare store).
 */
export function cacheHistoryStore(inner: HistoryStore): HistoryStore & {
  flush(): Promise<void>;
  /** A profile created in this batch: the store holds no history of it (its id is new), so none is read. */
  created(profileId: string): void;
} {
  /** Current-knowledge rows of each (profile, trait) read in the batch, by validFrom then id. */
  const known = new Map<string, HistoryRow[]>();
  /** Every row this store holds, by id: those of `known` and those inserted. */
  const rows = new Map<string, HistoryRow>();
  /** Inserted in this batch and not written yet (their later supersession or close is on the row itself). */
  const inserted = new Map<string, HistoryRow>();
  /** The same rows by (profile, trait), for a (profile, trait) read after them. */
  const insertedByKey = new Map<string, HistoryRow[]>();
  /** Stored rows superseded / closed in this batch, not written yet: id → time. */
  const superseded = new Map<string, number>();
  const closed = new Map<string, number>();
  const fresh = new Set<string>();

  const flush = async () => {
    // Once written, a new profile's rows are read from the store like any others.
    fresh.clear();
    if (inserted.size > 0) {
      const batch = [...inserted.values()].map((r) => ({ ...r }));
      inserted.clear();
      insertedByKey.clear();
      await inner.insert(batch);
    }
    for (const [at, ids] of groupByTime(closed)) await inner.close(ids, at);
    closed.clear();
    for (const [at, ids] of groupByTime(superseded)) await inner.supersede(ids, at);
    superseded.clear();
  };
  const drop = (row: HistoryRow) => {
    const list = known.get(keyOf(row.profileId, row.trait));
    const i = list ? list.indexOf(row) : -1;
    if (list && i >= 0) list.splice(i, 1);
  };

  return {
    ...inner,
    async insert(input) {
      for (const r of input) {
        const row = { ...r };
        rows.set(row.id, row);
        inserted.set(row.id, row);
        const key = keyOf(row.profileId, row.trait);
        const pending = insertedByKey.get(key);
        if (pending) pending.push(row);
        else insertedByKey.set(key, [row]);
        const list = known.get(key);
        if (list && row.supersededAt === null) {
          list.push(row);
          list.sort(byValidFrom);
        }
      }
    },
    async supersede(ids, at) {
      for (const id of ids) {
        const row = rows.get(id);
        if (row) {
          row.supersededAt = at;
          drop(row);
        }
        if (!inserted.has(id)) superseded.set(id, at);
      }
    },
    async close(ids, validTo) {
      for (const id of ids) {
        const row = rows.get(id);
        if (row) row.validTo = validTo;
        if (!inserted.has(id)) closed.set(id, validTo);
      }
    },
    async intervals(profileIds, trait) {
      // A profile asked for twice is answered once, as by the statement.
      const ids = profileIds.length > 1 ? [...new Set(profileIds)] : profileIds;
      const missing = ids.filter((id) => !known.has(keyOf(id, trait)));
      if (missing.length > 0) {
        const lists = new Map(missing.map((id) => [id, [] as HistoryRow[]]));
        // The store's rows, as this batch left them (held in memory, or changed by id and not written yet), then
        // the rows it has not written yet.
        const stored = missing.filter((id) => !fresh.has(id));
        for (const r of stored.length > 0 ? await inner.intervals(stored, trait) : []) {
          let held = rows.get(r.id);
          if (!held) {
            held = r;
            held.validTo = closed.get(r.id) ?? r.validTo;
            held.supersededAt = superseded.get(r.id) ?? null;
            rows.set(r.id, held);
          }
          if (held.supersededAt === null) lists.get(r.profileId)?.push(held);
        }
        for (const [id, list] of lists) {
          for (const r of insertedByKey.get(keyOf(id, trait)) ?? []) if (r.supersededAt === null) list.push(r);
          known.set(keyOf(id, trait), list.sort(byValidFrom));
        }
      }
      const out: HistoryRow[] = [];
      for (const id of ids) for (const r of known.get(keyOf(id, trait)) ?? []) out.push({ ...r });
      return ids.length > 1 ? out.sort(byValidFrom) : out;
    },
    async all(profileIds, opts) {
      await flush();
      return inner.all(profileIds, opts);
    },
    async current(profileIds) {
      await flush();
      return inner.current(profileIds);
    },
    created(profileId) {
      fresh.add(profileId);
    },
    flush,
  };
}

function groupByTime(changes: Map<string, number>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [id, at] of changes) {
    const ids = out.get(at);
    if (ids) ids.push(id);
    else out.set(at, [id]);
  }
  return out;
}

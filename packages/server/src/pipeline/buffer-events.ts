import type { EventRow, EventStore } from '../profiles/ports.js';

/** An `EventStore` whose inserts wait in memory until `flush` or the next read (one multi-row insert per batch). */
export function bufferEvents(inner: EventStore): {
  store: EventStore;
  /** The same as `store.insert` of one row, without a promise. */
  push: (row: EventRow) => void;
  flush: () => Promise<void>;
} {
  let pending: EventRow[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const rows = pending;
    pending = [];
    await inner.insert(rows);
  };
  return {
    flush,
    push(row) {
      pending.push(row);
    },
    store: {
      async insert(rows) {
        pending.push(...rows);
      },
      async list(query) {
        await flush();
        return inner.list(query);
      },
      async withTraitsBetween(profileIds, from, to) {
        await flush();
        return inner.withTraitsBetween(profileIds, from, to);
      },
      async traitObservations(profileIds, opts) {
        await flush();
        return inner.traitObservations(profileIds, opts);
      },
      async byLogPositions(positions) {
        await flush();
        return inner.byLogPositions(positions);
      },
      async byIds(keys) {
        await flush();
        return inner.byIds(keys);
      },
      async tracks(profileIds, names, since) {
        await flush();
        return inner.tracks(profileIds, names, since);
      },
      async count() {
        await flush();
        return inner.count();
      },
    },
  };
}

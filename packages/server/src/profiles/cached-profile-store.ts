import type { ProfileRow, ProfileStore } from './ports.js';

/**
 * A `ProfileStore` that keeps, for the life of one pipeline transaction, the profiles it created, read or updated,
 * so an event of a batch finds the profile a previous event left without a statement. Writes wait: new profiles
 * and the last state of changed ones are written by `flush` (the end of the batch, or before a read of a profile
 * this store does not hold), a few statements for the whole batch. The rows handed out are the cached objects
 * themselves: a caller that changes one saves it with `update`, as the pipeline's steps do. Same validity rules as
 * {@link import('../identity/cached-identity-store.js').cacheIdentityStore}.
 */
export function cacheProfileStore(inner: ProfileStore): ProfileStore & { flush(): Promise<void> } {
  const rows = new Map<string, ProfileRow>();
  /** Created in this batch and not written yet. */
  const created = new Map<string, ProfileRow>();
  /** Existing profiles changed in this batch and not written yet. */
  const dirty = new Set<string>();
  const flush = async () => {
    if (created.size > 0) await inner.createMany([...created.values()]);
    created.clear();
    for (const id of dirty) {
      const r = rows.get(id) as ProfileRow;
      await inner.update(id, r.traits, r.traitTimes, r.updatedAt);
    }
    dirty.clear();
  };
  return {
    ...inner,
    async create(row) {
      rows.set(row.id, row);
      created.set(row.id, row);
    },
    async get(ids) {
      const missing = ids.filter((id) => !rows.has(id));
      if (missing.length > 0) for (const r of await inner.get(missing)) rows.set(r.id, r);
      return [...new Set(ids)].flatMap((id) => {
        const r = rows.get(id);
        return r ? [r] : [];
      });
    },
    async update(id, traits, traitTimes, updatedAt) {
      let r = rows.get(id);
      if (!r) {
        [r] = await inner.get([id]);
        if (!r) return; // as the statement would: no such row, nothing updated
        rows.set(id, r);
      }
      r.traits = traits;
      r.traitTimes = traitTimes;
      r.updatedAt = updatedAt;
      if (!created.has(id)) dirty.add(id);
    },
    async search(q, opts) {
      await flush();
      return inner.search(q, opts);
    },
    async count() {
      await flush();
      return inner.count();
    },
    flush,
  };
}

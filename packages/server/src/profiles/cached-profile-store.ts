import type { ProfileRow, ProfileStore } from './ports.js';

/**
 * A `ProfileStore` that keeps, for the life of one pipeline transaction, the profiles it created, read or updated,
 * so an event of a batch finds the profile a previous event left without a statement. The rows handed out are the
 * cached objects themselves: a caller that changes one saves it with `update`, as the pipeline's steps do. Same
 * validity rules as {@link import('../identity/cached-identity-store.js').cacheIdentityStore}.
 */
export function cacheProfileStore(inner: ProfileStore): ProfileStore {
  const rows = new Map<string, ProfileRow>();
  return {
    ...inner,
    async create(row) {
      await inner.create(row);
      rows.set(row.id, row);
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
      await inner.update(id, traits, traitTimes, updatedAt);
      const r = rows.get(id);
      if (r) {
        r.traits = traits;
        r.traitTimes = traitTimes;
        r.updatedAt = updatedAt;
      }
    },
  };
}

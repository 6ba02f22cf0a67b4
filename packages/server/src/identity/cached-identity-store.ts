import { identifierKey } from './identity-limits.js';
import type { DecisionRow, Identifier, IdentityRow, IdentityStore } from './ports.js';

const keyOf = identifierKey;

/**
 * An `IdentityStore` that remembers, for the life of one pipeline transaction, what it read and wrote: identifier →
 * row (or known absent), redirects, families and each profile's identities. Events of a batch mostly name the same
 * people again, so most look-ups are answered without a statement.
 *
 * Valid only while no other transaction changes identities or redirects under it: the embedded pipeline is the
 * only writer of these tables, and a cluster worker holds the advisory locks of the identifiers it resolves until
 * it commits. Never used with savepoints (a rolled-back savepoint would leave the cache ahead of the database):
 * the isolated mode works on the bare store.
 */
export function cacheIdentityStore(inner: IdentityStore): IdentityStore & {
  /** Forgets redirects and families: after waiting for profile row locks, merges may have committed meanwhile. */
  forgetRedirects(): void;
  /**
   * A profile created in this batch: its family is itself and it has no identities beyond those linked here, known
   * without a statement (its id is new, so nothing in the store names it).
   */
  created(profileId: string): void;
  /** Writes the links and decisions still waiting; the batch calls it before it commits. */
  flush(): Promise<void>;
} {
  /** `null`: known to have no row. */
  const byKey = new Map<string, IdentityRow | null>();
  const survivorOf = new Map<string, string>();
  const families = new Map<string, string[]>();
  const identitiesOf = new Map<string, IdentityRow[]>();
  /** Links not written yet: one multi-row insert at `flush` (the end of the batch, or before a read that needs them). */
  let pending: IdentityRow[] = [];
  /** Decisions not written yet: one multi-row insert at `flush`. */
  let waitingDecisions: DecisionRow[] = [];
  const flush = async () => {
    if (pending.length > 0) {
      const rows = pending;
      pending = [];
      await inner.link(rows);
    }
    if (waitingDecisions.length > 0) {
      const rows = waitingDecisions;
      waitingDecisions = [];
      await inner.recordDecisions(rows);
    }
  };
  return {
    ...inner,
    async find(identifiers) {
      const out: IdentityRow[] = [];
      const missing: Identifier[] = [];
      // An identifier asked for twice is answered once, as by the statement.
      const seen = identifiers.length > 1 ? new Set<string>() : undefined;
      for (const i of identifiers) {
        const k = keyOf(i);
        if (seen) {
          if (seen.has(k)) continue;
          seen.add(k);
        }
        const hit = byKey.get(k);
        if (hit === undefined) missing.push(i);
        else if (hit !== null) out.push(hit);
      }
      if (missing.length > 0) {
        const found = await inner.find(missing);
        for (const i of missing) byKey.set(keyOf(i), null);
        for (const r of found) {
          byKey.set(keyOf(r), r);
          out.push(r);
        }
      }
      return out;
    },
    async resolve(profileIds) {
      const map = new Map<string, string>();
      const missing: string[] = [];
      for (const id of profileIds) {
        const hit = survivorOf.get(id);
        if (hit === undefined) missing.push(id);
        else map.set(id, hit);
      }
      if (missing.length > 0) {
        for (const [from, to] of await inner.resolve(missing)) {
          survivorOf.set(from, to);
          map.set(from, to);
        }
      }
      return map;
    },
    async family(survivorId) {
      let ids = families.get(survivorId);
      if (!ids) {
        ids = await inner.family(survivorId);
        families.set(survivorId, ids);
      }
      return [...ids];
    },
    async ofProfiles(profileIds) {
      const out: IdentityRow[] = [];
      const missing = profileIds.filter((id) => !identitiesOf.has(id));
      if (missing.length > 0) {
        // The store's rows, then the links still waiting here (identifiers the store was known not to hold).
        const rows = await inner.ofProfiles(missing);
        const lists = new Map(missing.map((id) => [id, [] as IdentityRow[]]));
        for (const r of rows) lists.get(r.profileId)?.push(r);
        for (const r of pending) lists.get(r.profileId)?.push(r);
        for (const [id, list] of lists) identitiesOf.set(id, list);
      }
      for (const id of profileIds.length > 1 ? new Set(profileIds) : profileIds) {
        out.push(...(identitiesOf.get(id) ?? []));
      }
      return out;
    },
    async link(rows) {
      const unknown: IdentityRow[] = [];
      for (const r of rows) {
        const k = keyOf(r);
        if (byKey.get(k) === null) {
          // Known absent, so the insert will take it (`link` leaves an existing identifier as it is): written at
          // the end of the batch, with the others, and answered from here until then.
          const row = { ...r };
          byKey.set(k, row);
          identitiesOf.get(r.profileId)?.push(row);
          pending.push(row);
          // Identifiers are only linked to a survivor (or a new profile): it resolves to itself until a redirect.
          if (!survivorOf.has(r.profileId)) survivorOf.set(r.profileId, r.profileId);
        } else if (!byKey.has(k)) unknown.push(r);
      }
      if (unknown.length > 0) {
        // Not looked up: whether the insert takes it is unknown; insert now and forget what it could change.
        await flush();
        await inner.link(unknown);
        for (const r of unknown) identitiesOf.delete(r.profileId);
      }
    },
    async recordDecisions(rows) {
      for (const r of rows) waitingDecisions.push({ ...r });
    },
    async decisions(profileIds) {
      await flush();
      return inner.decisions(profileIds);
    },
    created(profileId) {
      survivorOf.set(profileId, profileId);
      families.set(profileId, [profileId]);
      identitiesOf.set(profileId, []);
    },
    flush,
    async redirect(fromIds, toId, at, validAt) {
      await inner.redirect(fromIds, toId, at, validAt);
      survivorOf.clear();
      families.clear();
    },
    forgetRedirects() {
      survivorOf.clear();
      families.clear();
    },
  };
}

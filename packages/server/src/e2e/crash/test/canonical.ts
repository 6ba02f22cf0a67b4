import Database from 'better-sqlite3';

/**
 * A store's identity graph and profiles in a form that ignores generated ids and processing times, so two stores
 * that processed the same events in the same order compare equal. A profile is named by its sorted identifiers.
 */
export interface CanonicalForm {
  /** One sorted "type:value" list per surviving profile (profiles not in `profile_redirects`), sorted. */
  partition: string[][];
  /** Current traits per surviving profile, keyed by its identifier list (JSON), values as canonical JSON. */
  traits: Record<string, string>;
  merges: number;
  redirects: number;
  /** Identity decisions (drops, refusals, blocks, guards) counted by `kind/reason`. */
  decisions: Record<string, number>;
  /** Outbox rows counted by kind. */
  changes: Record<string, number>;
  /** messageId → the identifier list of the profile its event belongs to now. */
  eventProfiles: Record<string, string>;
  /** Identities whose profile resolves to no surviving profile. */
  orphanIdentities: string[];
  /** Surviving profiles with no identifier. */
  profilesWithoutIdentifiers: number;
}

/** Canonical JSON: object keys sorted, recursively. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Reads the canonical form of a SQLite store (opened read-only; the server must be stopped). */
export function canonicalForm(file: string): CanonicalForm {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const redirect = new Map(
      (db.prepare('select from_id, to_id from profile_redirects').all() as { from_id: string; to_id: string }[]).map(
        (r) => [r.from_id, r.to_id],
      ),
    );
    const resolve = (id: string) => {
      let cur = id;
      for (let hops = 0; redirect.has(cur) && hops <= redirect.size; hops++) cur = redirect.get(cur) as string;
      return cur;
    };
    const survivors = (
      db.prepare('select id, traits from profiles where id not in (select from_id from profile_redirects)').all() as {
        id: string;
        traits: string;
      }[]
    ).map((p) => ({ id: p.id, traits: JSON.parse(p.traits) as unknown }));
    const survivorIds = new Set(survivors.map((p) => p.id));
    const members = new Map<string, string[]>(survivors.map((p) => [p.id, []]));
    const orphanIdentities: string[] = [];
    for (const i of db.prepare('select type, value, profile_id from identities').all() as {
      type: string;
      value: string;
      profile_id: string;
    }[]) {
      const owner = resolve(i.profile_id);
      if (!survivorIds.has(owner)) orphanIdentities.push(`${i.type}:${i.value}`);
      else members.get(owner)?.push(`${i.type}:${i.value}`);
    }
    const keyOf = new Map<string, string>();
    const partition: string[][] = [];
    const traits: Record<string, string> = {};
    let profilesWithoutIdentifiers = 0;
    for (const p of survivors) {
      const ids = (members.get(p.id) ?? []).sort();
      if (ids.length === 0) profilesWithoutIdentifiers++;
      const key = JSON.stringify(ids);
      keyOf.set(p.id, key);
      partition.push(ids);
      traits[key] = stableJson(p.traits);
    }
    partition.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const eventProfiles: Record<string, string> = {};
    for (const e of db.prepare('select message_id, profile_id from events').all() as {
      message_id: string;
      profile_id: string;
    }[])
      eventProfiles[e.message_id] = keyOf.get(resolve(e.profile_id)) ?? `<no surviving profile: ${e.profile_id}>`;
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const grouped = (sql: string) =>
      Object.fromEntries((db.prepare(sql).all() as { k: string; n: number }[]).map((r) => [r.k, r.n]));
    return {
      partition,
      traits,
      merges: count('select count(*) as n from merges'),
      redirects: count('select count(*) as n from profile_redirects'),
      decisions: grouped(
        "select kind || '/' || reason as k, count(*) as n from identity_decisions group by kind, reason order by k",
      ),
      changes: grouped('select kind as k, count(*) as n from changes group by kind order by kind'),
      eventProfiles,
      orphanIdentities,
      profilesWithoutIdentifiers,
    };
  } finally {
    db.close();
  }
}

/** Differences between two canonical forms, described briefly (a few examples of each), empty when equal. */
export function diffCanonical(actual: CanonicalForm, expected: CanonicalForm, examples = 5): string[] {
  const out: string[] = [];
  const setDiff = (name: string, a: Iterable<string>, b: Iterable<string>) => {
    const as = new Set(a);
    const bs = new Set(b);
    const onlyA = [...as].filter((x) => !bs.has(x));
    const onlyB = [...bs].filter((x) => !as.has(x));
    if (onlyA.length > 0)
      out.push(`${name}: ${onlyA.length} only in the crashed store, e.g. ${onlyA.slice(0, examples).join(' ; ')}`);
    if (onlyB.length > 0)
      out.push(`${name}: ${onlyB.length} only in the replay, e.g. ${onlyB.slice(0, examples).join(' ; ')}`);
  };
  const parts = (f: CanonicalForm) => f.partition.map((p) => JSON.stringify(p));
  if (actual.partition.length !== expected.partition.length)
    out.push(`profiles: ${actual.partition.length} in the crashed store, ${expected.partition.length} in the replay`);
  setDiff('profile partition', parts(actual), parts(expected));
  const traitDiffs = Object.keys(expected.traits).filter(
    (k) => k in actual.traits && actual.traits[k] !== expected.traits[k],
  );
  if (traitDiffs.length > 0)
    out.push(
      `traits differ for ${traitDiffs.length} profiles, e.g. ${traitDiffs
        .slice(0, examples)
        .map((k) => `${k}: crashed ${actual.traits[k]} vs replay ${expected.traits[k]}`)
        .join(' ; ')}`,
    );
  if (actual.merges !== expected.merges)
    out.push(`merges: ${actual.merges} in the crashed store, ${expected.merges} in the replay`);
  if (actual.redirects !== expected.redirects)
    out.push(`redirects: ${actual.redirects} in the crashed store, ${expected.redirects} in the replay`);
  const rec = (name: string, a: Record<string, number>, b: Record<string, number>) => {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      if (a[k] !== b[k]) out.push(`${name} ${k}: ${a[k] ?? 0} in the crashed store, ${b[k] ?? 0} in the replay`);
  };
  rec('identity decisions', actual.decisions, expected.decisions);
  rec('changes', actual.changes, expected.changes);
  setDiff(
    'event → profile',
    Object.entries(actual.eventProfiles).map(([m, k]) => `${m}→${k}`),
    Object.entries(expected.eventProfiles).map(([m, k]) => `${m}→${k}`),
  );
  return out;
}

import type { Stores } from '../storage/storage.js';

/**
 * Per survivor, the consent current at `now` for each purpose over its family: the row with the latest `validFrom`
 * (then id) among those valid at `now` — as audience `consent` conditions read it.
 */
export async function consentsOf(
  tx: Stores,
  all: readonly string[],
  owner: ReadonlyMap<string, string>,
  now: number,
): Promise<Map<string, Map<string, boolean>>> {
  const latest = new Map<string, Map<string, { validFrom: number; id: string; granted: boolean }>>();
  for (const c of await tx.consents.current(all)) {
    if (c.validFrom > now) continue;
    const s = owner.get(c.profileId) as string;
    const byPurpose = latest.get(s) ?? new Map();
    const prev = byPurpose.get(c.purpose);
    if (!prev || c.validFrom > prev.validFrom || (c.validFrom === prev.validFrom && c.id > prev.id))
      byPurpose.set(c.purpose, { validFrom: c.validFrom, id: c.id, granted: c.granted });
    latest.set(s, byPurpose);
  }
  return new Map([...latest].map(([s, m]) => [s, new Map([...m].map(([p, v]) => [p, v.granted]))]));
}

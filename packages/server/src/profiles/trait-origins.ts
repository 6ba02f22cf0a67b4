import { isDeepStrictEqual } from 'node:util';
import type { MergeRow } from '../identity/ports.js';
import type { HistoryRow } from './ports.js';

/**
 * Where each current (most recent) value of a profile came from: the trait-history row holding it. A merge copies
 * the merged profile's values onto the survivor in rows that carry the merging event (`steps/traits.ts`); for such a
 * row the origin is the merged profile's row holding the same value, followed through earlier merges, so the source
 * shown is the one that observed the value, not the source of the event that joined the profiles.
 *
 * @param profileId the profile answered.
 * @param rowsOf the history row holding each trait's value on a profile of the family (now, or at `asOf`).
 * @param merges merges within the family (visible at the times asked).
 */
export function traitOrigins(
  profileId: string,
  rowsOf: (profileId: string) => ReadonlyMap<string, HistoryRow>,
  merges: readonly MergeRow[],
): Map<string, HistoryRow> {
  const out = new Map<string, HistoryRow>();
  for (const [trait, own] of rowsOf(profileId)) {
    let row = own;
    // At most one step per merge: a chain cannot loop, this bounds a corrupt one.
    for (let step = 0; step < merges.length; step++) {
      const current = row;
      const from = merges
        .filter((m) => m.survivorId === current.profileId && m.eventId !== null && m.eventId === current.eventId)
        .map((m) => rowsOf(m.mergedId).get(trait))
        .filter((r): r is HistoryRow => r !== undefined && isDeepStrictEqual(r.value, current.value))
        .sort((a, b) => b.validFrom - a.validFrom)[0];
      if (!from) break;
      row = from;
    }
    out.set(trait, row);
  }
  return out;
}

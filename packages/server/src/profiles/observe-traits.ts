import { isDeepStrictEqual } from 'node:util';
import { newUuid } from '../ids.js';
import type { EventStore, HistoryRow, HistoryStore, ProfileRow } from './ports.js';

export interface Observation {
  /** Event time of the observation (ms). */
  at: number;
  /** Processing time (ms): the record time of new history rows. */
  now: number;
  sourceId: string;
  eventId: string | null;
  /** Every id of the profile's family, to find later observations of a trait among its events (only looked up for a late value). */
  family: () => Promise<readonly string[]>;
  /**
   * Set when the values come from a profile merged into this one, to the merge's valid (event) time: a value
   * older than this profile's own latest observation of the trait is not taken (the survivor's is more recent),
   * and a value taken starts no earlier than the merge, so `asOf` before the merge does not show it.
   */
  absorbedAt?: number;
}

/**
 * Applies observed trait values to a profile (DESIGN §5): history rows are written only when a value changes; an
 * in-order value closes the open interval and opens a new one; a late value (older than the trait's latest
 * observation) is inserted into the interval it falls in, which is superseded and split, the late value lasting
 * until the next observation of that trait. Mutates `profile.traits` / `profile.traitTimes` and returns the keys
 * whose current value changed. The caller saves the profile.
 */
export async function observeTraits(
  deps: { history: HistoryStore; events: EventStore },
  profile: ProfileRow,
  traits: Record<string, unknown>,
  obs: Observation,
): Promise<string[]> {
  const changed: string[] = [];
  const row = (trait: string, value: unknown, validFrom: number, validTo: number | null): HistoryRow => ({
    id: newUuid(),
    profileId: profile.id,
    trait,
    value,
    validFrom,
    validTo,
    recordedAt: obs.now,
    supersededAt: null,
    sourceId: obs.sourceId,
    eventId: obs.eventId,
  });
  for (const [trait, value] of Object.entries(traits)) {
    if (value === undefined) continue;
    // Own properties only: a trait named `constructor` must not find Object.prototype's.
    const lastSeen = Object.hasOwn(profile.traitTimes, trait) ? profile.traitTimes[trait] : undefined;
    if (obs.absorbedAt !== undefined && lastSeen !== undefined && obs.at < lastSeen) continue;
    const validFrom = obs.absorbedAt === undefined ? obs.at : Math.max(obs.at, obs.absorbedAt);
    if (lastSeen === undefined || obs.at >= lastSeen) {
      profile.traitTimes[trait] = obs.at;
      if (
        lastSeen !== undefined &&
        Object.hasOwn(profile.traits, trait) &&
        isDeepStrictEqual(profile.traits[trait], value)
      )
        continue;
      const open =
        lastSeen === undefined
          ? undefined
          : (await deps.history.intervals([profile.id], trait)).find((r) => r.validTo === null);
      if (open && open.validFrom === validFrom) await deps.history.supersede([open.id], obs.now);
      else if (open) await deps.history.close([open.id], validFrom);
      await deps.history.insert([row(trait, value, validFrom, null)]);
      profile.traits[trait] = value;
      changed.push(trait);
      continue;
    }
    // A late observation.
    const intervals = await deps.history.intervals([profile.id], trait);
    const containing = intervals.filter((r) => r.validFrom <= obs.at).at(-1);
    if (!containing) {
      const first = intervals[0];
      if (first && isDeepStrictEqual(first.value, value)) {
        await deps.history.supersede([first.id], obs.now);
        await deps.history.insert([row(trait, value, obs.at, first.validTo)]);
      } else {
        await deps.history.insert([row(trait, value, obs.at, first?.validFrom ?? null)]);
      }
      continue;
    }
    if (isDeepStrictEqual(containing.value, value)) continue;
    const end = containing.validTo;
    const later = await deps.events.withTraitsBetween(await obs.family(), obs.at, end);
    const next = later.find((e) => e.traits && Object.hasOwn(e.traits, trait))?.timestamp ?? end;
    await deps.history.supersede([containing.id], obs.now);
    const pieces: HistoryRow[] = [];
    if (obs.at > containing.validFrom)
      pieces.push({
        ...row(trait, containing.value, containing.validFrom, obs.at),
        sourceId: containing.sourceId,
        eventId: containing.eventId,
      });
    pieces.push(row(trait, value, obs.at, next));
    if (next !== end && next !== null)
      pieces.push({
        ...row(trait, containing.value, next, end),
        sourceId: containing.sourceId,
        eventId: containing.eventId,
      });
    await deps.history.insert(pieces);
    if (end === null && next === null) {
      profile.traits[trait] = value;
      changed.push(trait);
    }
  }
  return changed;
}

import { isDeepStrictEqual } from 'node:util';
import type { GoldenRecords } from '../identity/golden-records.js';
import { newUuid } from '../ids.js';
import type { EventStore, HistoryRow, HistoryStore, ProfileStore } from './ports.js';

/** One observation of one trait by an event of a family member. */
export interface MemberObservation {
  value: unknown;
  /** Event time (ms). */
  at: number;
  /** From when it counts for the profile: its event time, or later, when its profile joined the family later. */
  effectiveAt: number;
  sourceId: string;
  eventId: string;
}

/** A derived interval of a trait's value: valid from `validFrom` until the next interval. */
export interface DerivedInterval {
  validFrom: number;
  value: unknown;
  sourceId: string;
  eventId: string;
}

/** The latest observation: the greater event time, then the later made (UUIDv7) event id. */
function isLater(a: MemberObservation, b: MemberObservation): boolean {
  return a.at > b.at || (a.at === b.at && a.eventId > b.eventId);
}

/**
 * The value history of one trait as the pipeline builds it (`observeTraits`, most recent observation wins): at each
 * instant, the value of the latest observation (by event time) among those that count by then. An observation of a
 * member merged into the profile counts from its own event time or from the merge, whichever is later, so a merged
 * value that is older than the profile's own is not taken and a value taken starts no earlier than the merge.
 * Consecutive equal values make one interval.
 */
export function deriveIntervals(observations: readonly MemberObservation[]): DerivedInterval[] {
  const sorted = [...observations].sort(
    (a, b) => a.effectiveAt - b.effectiveAt || a.at - b.at || (a.eventId < b.eventId ? -1 : 1),
  );
  const out: DerivedInterval[] = [];
  let best: MemberObservation | undefined;
  for (let i = 0; i < sorted.length; ) {
    const from = sorted[i].effectiveAt;
    for (; i < sorted.length && sorted[i].effectiveAt === from; i++)
      if (!best || isLater(sorted[i], best)) best = sorted[i];
    const chosen = best as MemberObservation;
    const last = out.at(-1);
    if (!last || !isDeepStrictEqual(last.value, chosen.value))
      out.push({ validFrom: from, value: chosen.value, sourceId: chosen.sourceId, eventId: chosen.eventId });
  }
  return out;
}

/**
 * Rebuilds a profile's golden record after its family changed outside the pipeline (a merge by the matcher or a
 * review, an unmerge): see {@link GoldenRecords.rederive}. Only the traits observed by `affectedIds` are rebuilt,
 * from the observations (`EventStore.traitObservations`) of every member, each counting from its join time. For each
 * such trait, the history rows from `from` on that differ from the derived intervals are superseded at `now` and the
 * derived ones inserted; the row in force just before `from` gets its new end. The profile row's value and
 * observation time of the trait follow. Survivorship is the pipeline's: the most recent observation wins.
 */
export async function rederiveTraits(
  stores: { profiles: ProfileStore; history: HistoryStore; events: EventStore },
  input: Parameters<GoldenRecords['rederive']>[1],
): Promise<string[]> {
  const affected = new Set<string>();
  for (const o of await stores.events.traitObservations([...new Set(input.affectedIds)]))
    for (const trait of Object.keys(o.traits)) affected.add(trait);
  const [profile] = await stores.profiles.get([input.profileId]);
  if (!profile || affected.size === 0) return [];
  const byTrait = new Map<string, MemberObservation[]>();
  for (const o of await stores.events.traitObservations([...input.members.keys()])) {
    const joined = input.members.get(o.profileId);
    if (joined === undefined) continue;
    for (const [trait, value] of Object.entries(o.traits)) {
      if (!affected.has(trait) || value === undefined) continue;
      const list = byTrait.get(trait) ?? [];
      list.push({
        value,
        at: o.timestamp,
        effectiveAt: Math.max(o.timestamp, joined),
        sourceId: o.sourceId,
        eventId: o.eventId,
      });
      byTrait.set(trait, list);
    }
  }
  const changed: string[] = [];
  for (const trait of [...affected].sort()) {
    const observations = byTrait.get(trait) ?? [];
    const derived = deriveIntervals(observations);
    await reconcile(stores.history, input.profileId, trait, derived, input.from, input.now);
    const had = Object.hasOwn(profile.traits, trait);
    const last = derived.at(-1);
    if (!last) {
      if (had) changed.push(trait);
      delete profile.traits[trait];
      delete profile.traitTimes[trait];
      continue;
    }
    if (!had || !isDeepStrictEqual(profile.traits[trait], last.value)) changed.push(trait);
    setOwn(profile.traits, trait, last.value);
    // A loop, not Math.max(...): a trait observed a hundred thousand times would overflow the call's arguments.
    let latest = Number.NEGATIVE_INFINITY;
    for (const o of observations) if (o.at > latest) latest = o.at;
    setOwn(profile.traitTimes, trait, latest);
  }
  await stores.profiles.update(profile.id, profile.traits, profile.traitTimes, input.now);
  return changed;
}

/** {@link GoldenRecords} for the composition root. */
export const goldenRecords: GoldenRecords = { rederive: (tx, input) => rederiveTraits(tx, input) };

/** Assigns an own property, also for a key such as `__proto__` (a plain assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Makes the current-knowledge rows of one trait from valid time `from` on say what `derived` says, as recorded at
 * `now`: the rows that differ are superseded (never deleted), the derived ones inserted, and the row in force before
 * `from` ends where the first new one starts.
 */
async function reconcile(
  history: HistoryStore,
  profileId: string,
  trait: string,
  derived: readonly DerivedInterval[],
  from: number,
  now: number,
): Promise<void> {
  const existing = await history.intervals([profileId], trait);
  const kept = existing.filter((r) => r.validFrom < from).at(-1);
  const after = existing.filter((r) => r.validFrom >= from);
  const inForce = derived.filter((d) => d.validFrom < from).at(-1);
  const later = derived.filter((d) => d.validFrom >= from);
  const target: DerivedInterval[] = [];
  let value: { v: unknown } | undefined = kept ? { v: kept.value } : undefined;
  const push = (d: DerivedInterval) => {
    if (value && isDeepStrictEqual(value.v, d.value)) return;
    target.push(d);
    value = { v: d.value };
  };
  // The value in force at `from` (what was derived before it) when nothing new starts exactly there.
  if (inForce && (later.length === 0 || later[0].validFrom > from)) push({ ...inForce, validFrom: from });
  for (const d of later) push(d);
  const same =
    target.length === after.length &&
    target.every((t, i) => t.validFrom === after[i].validFrom && isDeepStrictEqual(t.value, after[i].value));
  if (same) return;
  await history.supersede(
    after.map((r) => r.id),
    now,
  );
  const rows: HistoryRow[] = target.map((t, i) => ({
    id: newUuid(),
    profileId,
    trait,
    value: t.value,
    validFrom: t.validFrom,
    validTo: target[i + 1]?.validFrom ?? null,
    recordedAt: now,
    supersededAt: null,
    sourceId: t.sourceId,
    eventId: t.eventId,
  }));
  const end = target[0]?.validFrom ?? null;
  if (kept && kept.validTo !== end) {
    if (end !== null) await history.close([kept.id], end);
    else {
      // Open again: the closed row is superseded by an open copy (as known from now on).
      await history.supersede([kept.id], now);
      rows.unshift({ ...kept, id: newUuid(), validTo: null, recordedAt: now, supersededAt: null });
    }
  }
  await history.insert(rows);
}

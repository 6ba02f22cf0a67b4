import type { ComputedTraitDefinition } from '@tessera/protocol';
import { passesFilters } from './evaluate.js';
import type { SnapshotEvent } from './profile-snapshot.js';
import { toNumber, valueAt } from './values.js';
import { inWindow, isRelative, UNIT_MS, windowLength } from './window.js';

/** Computed trait definitions by key. */
export type ComputedTraits = ReadonlyMap<string, ComputedTraitDefinition>;

const DAY = UNIT_MS.days;

/** The events `definition` reads at `now`: its event name, every filter, its window. */
export function traitEvents(
  definition: ComputedTraitDefinition,
  events: readonly SnapshotEvent[],
  now: number,
): SnapshotEvent[] {
  const condition = { name: definition.event, where: definition.where };
  return events.filter((e) => passesFilters(condition, e) && inWindow(definition.window, e.timestamp, now));
}

/** Earliest first: by time, then event id (`first`, `last`). */
function byTime(a: SnapshotEvent, b: SnapshotEvent): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  const x = a.id ?? '';
  const y = b.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The value of a computed trait over a profile's events at `now` (docs/audiences.md, "Computed traits"), or
 * `undefined` when it is missing. Pure: the SQL compiler computes the same value in both dialects.
 */
export function computeTrait(
  definition: ComputedTraitDefinition,
  events: readonly SnapshotEvent[],
  now: number,
): unknown | undefined {
  const matching = traitEvents(definition, events, now);
  const property = definition.property ?? '';
  switch (definition.fn) {
    case 'count':
      return matching.length;
    case 'days_since': {
      if (matching.length === 0) return undefined;
      let latest = matching[0].timestamp;
      for (const e of matching) if (e.timestamp > latest) latest = e.timestamp;
      return Math.trunc((now - latest) / DAY);
    }
    case 'first':
    case 'last': {
      if (matching.length === 0) return undefined;
      const sorted = [...matching].sort(byTime);
      return valueAt(sorted[definition.fn === 'first' ? 0 : sorted.length - 1].properties, property);
    }
    case 'most_frequent': {
      const counts = new Map<string, number>();
      for (const e of matching) {
        const v = valueAt(e.properties, property);
        if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      let best: string | undefined;
      let bestCount = 0;
      for (const [v, n] of counts)
        if (n > bestCount || (n === bestCount && best !== undefined && v < best)) [best, bestCount] = [v, n];
      return best;
    }
    default: {
      const numbers: number[] = [];
      for (const e of matching) {
        const n = toNumber(valueAt(e.properties, property));
        if (n !== undefined) numbers.push(n);
      }
      if (definition.fn === 'sum') return numbers.reduce((a, b) => a + b, 0);
      if (numbers.length === 0) return undefined;
      if (definition.fn === 'average') return numbers.reduce((a, b) => a + b, 0) / numbers.length;
      let extreme = numbers[0];
      for (const n of numbers) if (definition.fn === 'min' ? n < extreme : n > extreme) extreme = n;
      return extreme;
    }
  }
}

/**
 * The earliest instant after `now` at which time alone may change the trait's value: an event entering or leaving a
 * relative window, and for `days_since` the next whole day after its latest event. `undefined` when none.
 */
export function traitExpiry(
  definition: ComputedTraitDefinition,
  events: readonly SnapshotEvent[],
  now: number,
): number | undefined {
  let earliest: number | undefined;
  const consider = (t: number) => {
    if (t > now && (earliest === undefined || t < earliest)) earliest = t;
  };
  const condition = { name: definition.event, where: definition.where };
  const w = definition.window;
  if (w !== undefined && isRelative(w)) {
    const length = windowLength(w);
    for (const e of events) {
      if (passesFilters(condition, e)) consider(e.timestamp > now ? e.timestamp : e.timestamp + length);
    }
  }
  if (definition.fn === 'days_since') {
    const matching = traitEvents(definition, events, now);
    if (matching.length > 0) {
      let latest = matching[0].timestamp;
      for (const e of matching) if (e.timestamp > latest) latest = e.timestamp;
      consider(now + DAY - ((((now - latest) % DAY) + DAY) % DAY));
    }
  }
  return earliest;
}

import type { AudienceCondition, AudienceDefinition } from '@tessera/protocol';
import { type ComputedTraits, traitExpiry } from './computed-trait.js';
import { passesFilters } from './evaluate.js';
import type { ProfileSnapshot } from './profile-snapshot.js';
import { isRelative, windowLength } from './window.js';

/**
 * The earliest time after `now` at which the passing of time alone could change `evaluateAudience(definition,
 * snapshot, ·)`: the first instant an event enters or leaves one of the definition's relative windows. Until then
 * (same snapshot) the result stays what it is at `now`; at that time it may or may not change, and the scheduler
 * re-checks and asks again (issue 5, Build 3). `undefined` when no relative window holds or will hold an event.
 *
 * An event at t is in a window of length d exactly during [t, t + d), so it enters at t (a future event) and leaves
 * at t + d. Absolute windows and date comparisons do not move with `now`. Membership of other audiences is the
 * snapshot's: their own expiries are theirs. A `computed_trait` condition moves when its trait's value may
 * (`traitExpiry`: its relative window's edges, and each new day of a `days_since`), given its definition in `computed`.
 */
export function nextExpiry(
  definition: AudienceDefinition,
  snapshot: ProfileSnapshot,
  now: number,
  computed: ComputedTraits = new Map(),
): number | undefined {
  let earliest: number | undefined;
  visit(definition, (condition) => {
    if (condition.type === 'computed_trait') {
      const trait = computed.get(condition.key);
      const at = trait === undefined ? undefined : traitExpiry(trait, snapshot.events, now);
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
      return;
    }
    if (condition.type !== 'event' || condition.window === undefined || !isRelative(condition.window)) return;
    const length = windowLength(condition.window);
    for (const event of snapshot.events) {
      if (!passesFilters(condition, event)) continue;
      const change = event.timestamp > now ? event.timestamp : event.timestamp + length;
      if (change > now && (earliest === undefined || change < earliest)) earliest = change;
    }
  });
  return earliest;
}

function visit(node: AudienceCondition, f: (node: AudienceCondition) => void): void {
  f(node);
  if (node.type === 'and' || node.type === 'or') for (const c of node.conditions) visit(c, f);
  else if (node.type === 'not') visit(node.condition, f);
}

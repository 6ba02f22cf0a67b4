import type { AudienceCondition, AudienceDefinition, EventCondition } from '@tessera/protocol';
import { compareNumber, compareValue } from './compare.js';
import type { ProfileSnapshot, SnapshotEvent } from './profile-snapshot.js';
import { toNumber, valueAt } from './values.js';
import { inWindow } from './window.js';

/**
 * Whether the profile in `snapshot` belongs to the audience `definition` at time `now` (ms since the epoch): the
 * incremental evaluator, run for the profiles an event touched and by the scheduler's re-checks. Pure: it reads only
 * its arguments, so the same inputs always give the same answer. Semantics: docs/audiences.md; the SQL compiler
 * must agree with this function on every input.
 *
 * `definition` must have passed `parseAudience` (dates in it are then valid).
 */
export function evaluateAudience(definition: AudienceDefinition, snapshot: ProfileSnapshot, now: number): boolean {
  return holds(definition, snapshot, now);
}

function holds(node: AudienceCondition, s: ProfileSnapshot, now: number): boolean {
  switch (node.type) {
    case 'and':
      return node.conditions.every((c) => holds(c, s, now));
    case 'or':
      return node.conditions.some((c) => holds(c, s, now));
    case 'not':
      return !holds(node.condition, s, now);
    case 'trait':
      return compareValue(node.compare, valueAt(s.traits, node.key));
    case 'computed_trait':
      return compareValue(node.compare, valueAt(s.computedTraits, node.key));
    case 'consent':
      return Object.hasOwn(s.consents, node.purpose) && s.consents[node.purpose] === (node.state === 'granted');
    case 'audience':
      return s.audiences.has(node.key);
    case 'entity':
      return s.accounts.some((account) =>
        (node.where ?? []).every((f) => compareValue(f.compare, valueAt(account.traits, f.key))),
      );
    case 'event':
      return eventHolds(node, matchingEvents(node, s.events, now));
  }
}

/** The events `condition` counts at `now`: its name, every `where` filter, its window. */
function matchingEvents(condition: EventCondition, events: readonly SnapshotEvent[], now: number) {
  return events.filter((e) => passesFilters(condition, e) && inWindow(condition.window, e.timestamp, now));
}

/** Name and property filters, the part of an event condition that does not depend on time. */
export function passesFilters(condition: Pick<EventCondition, 'name' | 'where'>, event: SnapshotEvent): boolean {
  return (
    event.name === condition.name &&
    (condition.where ?? []).every((f) => compareValue(f.compare, valueAt(event.properties, f.property)))
  );
}

function eventHolds(condition: EventCondition, events: readonly SnapshotEvent[]): boolean {
  const aggregate = condition.aggregate;
  if (aggregate === undefined) return events.length >= 1;
  if (aggregate.fn === 'count') return compareNumber(aggregate.compare, events.length);
  const numbers: number[] = [];
  for (const e of events) {
    const n = toNumber(valueAt(e.properties, aggregate.property!));
    if (n !== undefined) numbers.push(n);
  }
  if (aggregate.fn === 'sum')
    return compareNumber(
      aggregate.compare,
      numbers.reduce((a, b) => a + b, 0),
    );
  if (numbers.length === 0) return false;
  // A loop, not Math.min(...): a profile may have more events than a call takes arguments.
  let extreme = numbers[0];
  for (const n of numbers) if (aggregate.fn === 'min' ? n < extreme : n > extreme) extreme = n;
  return compareNumber(aggregate.compare, extreme);
}

import type { Identifier } from './ports.js';
import { type IdentityRules, ruleOf } from './rules.js';

/**
 * The limits of DESIGN §4 on joining profiles, shared by identity resolution of an event (`resolveIdentity`) and by
 * merges that come from no event (`mergeProfiles`): per-type identifier limits with their windows, and the two
 * guards (`maxProfilesPerMerge`, `maxIdentifiersPerProfile`).
 */

/** An identifier of a profile's family (`firstSeenAt`: event time it was first seen). */
export interface HeldIdentifier extends Identifier {
  firstSeenAt: number;
}

export interface LimitCheck {
  /**
   * Types whose count, once the families are joined and the fresh identifiers linked, exceeds both the type's limit
   * and the largest count one of the families already holds (a pre-existing excess is never made worse, and it
   * does not stop that profile from being used as it is).
   */
  violating: string[];
  /** Per violating type: the joined count, the limit and the largest count one family holds. */
  counts: Record<string, { count: number; limit: number; held: number }>;
  /** Distinct identifiers of the joined families and the fresh ones, every type: for `maxIdentifiersPerProfile`. */
  identifiers: number;
}

/** Whether an identifier first seen at `seen` counts toward its type's limit at event time `at` (windows). */
export function countsTowardLimit(rules: IdentityRules, type: string, seen: number, at: number): boolean {
  const rule = ruleOf(rules, type);
  if (rule.limit === undefined) return false;
  return rule.windowDays === undefined || seen >= at - rule.windowDays * 86_400_000;
}

/** One string per identifier, for maps and sets. */
export const identifierKey = (i: Identifier) => `${i.type}\u0000${i.value}`;
const keyOf = identifierKey;

/**
 * Checks the per-type limits of joining `families` (the identifiers of each involved profile's family) and linking
 * `fresh` identifiers (owned by nobody yet, first seen at `at`), at event time `at`.
 */
export function checkLimits(
  rules: IdentityRules,
  families: readonly (readonly HeldIdentifier[])[],
  fresh: readonly Identifier[],
  at: number,
): LimitCheck {
  const counted = new Map<string, HeldIdentifier>();
  const held = new Map<string, number>();
  for (const family of families) {
    const own = new Map<string, number>();
    for (const r of family) {
      counted.set(keyOf(r), r);
      if (countsTowardLimit(rules, r.type, r.firstSeenAt, at)) own.set(r.type, (own.get(r.type) ?? 0) + 1);
    }
    for (const [type, n] of own) held.set(type, Math.max(held.get(type) ?? 0, n));
  }
  for (const i of fresh) counted.set(keyOf(i), { type: i.type, value: i.value, firstSeenAt: at });
  const perType = new Map<string, number>();
  for (const item of counted.values()) {
    if (countsTowardLimit(rules, item.type, item.firstSeenAt, at))
      perType.set(item.type, (perType.get(item.type) ?? 0) + 1);
  }
  const violating: string[] = [];
  const counts: LimitCheck['counts'] = {};
  for (const [type, count] of perType) {
    const limit = ruleOf(rules, type).limit ?? Number.POSITIVE_INFINITY;
    const most = held.get(type) ?? 0;
    if (count > Math.max(limit, most)) {
      violating.push(type);
      counts[type] = { count, limit, held: most };
    }
  }
  return { violating, counts, identifiers: counted.size };
}

/**
 * The guard a join of `profiles` profiles holding `identifiers` identifiers in all trips, if any: more profiles
 * than `maxProfilesPerMerge`, or (several profiles) more identifiers than `maxIdentifiersPerProfile`.
 */
export function mergeGuard(
  rules: IdentityRules,
  profiles: number,
  identifiers: number,
): { reason: 'max_profiles_per_merge' | 'max_identifiers_per_profile'; evidence: Record<string, number> } | undefined {
  if (profiles > rules.maxProfilesPerMerge)
    return { reason: 'max_profiles_per_merge', evidence: { profiles, limit: rules.maxProfilesPerMerge } };
  if (profiles > 1 && identifiers > rules.maxIdentifiersPerProfile)
    return {
      reason: 'max_identifiers_per_profile',
      evidence: { identifiers, limit: rules.maxIdentifiersPerProfile },
    };
  return undefined;
}

/** Survivor order (DESIGN §4): the profile created first, then the smallest id; the survivor of a merge sorts first. */
export function survivorOrder(a: { id: string; createdAt: number }, b: { id: string; createdAt: number }): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

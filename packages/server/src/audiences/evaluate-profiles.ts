import type { AudienceCondition, AudienceDefinition, ComputedTraitDefinition, EventCondition } from '@tessera/protocol';
import type { ChangeInput } from '../bus/ports.js';
import { groupBy } from '../group-by.js';
import { newUuid } from '../ids.js';
import { consentsOf } from '../profiles/current-consents.js';
import type { Stores } from '../storage/storage.js';
import { type ComputedTraits, computeTrait } from './computed-trait.js';
import { loadComputedTraits } from './computed-trait-settings.js';
import { evaluateAudience } from './evaluate.js';
import { nextExpiry } from './next-expiry.js';
import type { AudienceRow, ExitReason, MembershipRow, RfmRow } from './ports.js';
import type { ProfileSnapshot, SnapshotEvent } from './profile-snapshot.js';
import { isRfmTrait } from './rfm-segments.js';
import { toDate } from './values.js';
import { isRelative, windowLength } from './window.js';

/** The change kinds audiences publish (DESIGN §6): one per stay opened or closed. */
export const AUDIENCE_ENTERED = 'audience.entered';
export const AUDIENCE_EXITED = 'audience.exited';

/** What an evaluation of some profiles changed. */
export interface EvaluationOutcome {
  entered: number;
  exited: number;
  /** Outbox rows for the caller to publish in the same transaction. */
  changes: ChangeInput[];
}

/**
 * Re-evaluates every audience for the profiles `profileIds` at `now` (the incremental evaluator's run for the
 * profiles a batch touched, or the scheduler's re-check), inside transaction `tx`, and writes what changed:
 * - an id merged into another since it entered an audience leaves it (`merged`), and its survivor is evaluated;
 * - each survivor is evaluated against every live audience, audiences named by others first, so that an `audience`
 *   condition reads the membership just decided; a stay opens where the definition holds and none is open, closes
 *   (`condition`) where it no longer holds; a deleted audience's stays close (`deleted`);
 * - each survivor's next re-check is set to the earliest `nextExpiry` over the live audiences, or removed.
 * Returns the counts and the `audience.entered` / `audience.exited` changes (ids and keys only).
 */
export async function evaluateProfiles(
  tx: Stores,
  profileIds: Iterable<string>,
  now: number,
  audiencesInForce?: readonly AudienceRow[],
): Promise<EvaluationOutcome> {
  const outcome: EvaluationOutcome = { entered: 0, exited: 0, changes: [] };
  const ids = [...new Set(profileIds)];
  if (ids.length === 0) return outcome;
  const audiences = audiencesInForce ?? (await tx.audiences.list({ includeDeleted: true }));
  if (audiences.length === 0) return outcome;
  await tx.audiences.lock(
    audiences.map((a) => a.key),
    'share',
  );
  const live = orderByDependency(audiences.filter((a) => a.deletedAt === null));
  const byKey = new Map(audiences.map((a) => [a.key, a]));

  const resolved = await tx.identities.resolve(ids);
  const survivors = [...new Set(resolved.values())];
  const existing = new Set((await tx.profiles.get(survivors)).map((p) => p.id));
  const merged = ids.filter((id) => resolved.get(id) !== id);
  const current = await tx.memberships.current([...new Set([...merged, ...survivors])]);
  const exits = new Map<ExitReason, MembershipRow[]>();
  const exit = (stay: MembershipRow, reason: ExitReason) => entry(exits, reason, () => []).push(stay);
  const enters: MembershipRow[] = [];
  const openBy = new Map<string, Map<string, MembershipRow>>();
  for (const stay of current) {
    // `existing` holds the survivors (the ids the batch named resolve to): any other id's stay is a merged one's.
    if (!existing.has(stay.profileId)) {
      exit(stay, 'merged');
      continue;
    }
    const a = byKey.get(stay.audienceKey);
    if (!a || a.deletedAt !== null) {
      exit(stay, 'deleted');
      continue;
    }
    entry(openBy, stay.profileId, () => new Map()).set(stay.audienceKey, stay);
  }

  const evaluated = survivors.filter((id) => existing.has(id));
  const { definitions: computed } = await loadComputedTraits(tx.settings);
  const snapshots = await loadSnapshots(
    tx,
    evaluated,
    live.map((a) => a.definition),
    now,
    computed,
  );
  const rechecks: { profileId: string; dueAt: number | null }[] = [];
  for (const id of evaluated) {
    const snapshot = snapshots.get(id) as ProfileSnapshot & { audiences: Set<string> };
    const open = openBy.get(id) ?? new Map<string, MembershipRow>();
    snapshot.audiences = new Set(open.keys());
    let due: number | undefined;
    for (const a of live) {
      const member = evaluateAudience(a.definition, snapshot, now);
      const stay = open.get(a.key);
      if (member && !stay) {
        snapshot.audiences.add(a.key);
        enters.push({
          id: newUuid(),
          audienceKey: a.key,
          profileId: id,
          enteredAt: now,
          exitedAt: null,
          enteredVersion: a.version,
          exitedVersion: null,
          exitReason: null,
        });
      } else if (!member && stay) {
        snapshot.audiences.delete(a.key);
        exit(stay, 'condition');
      }
      const expiry = nextExpiry(a.definition, snapshot, now, computed);
      if (expiry !== undefined && (due === undefined || expiry < due)) due = expiry;
    }
    rechecks.push({ profileId: id, dueAt: due ?? null });
  }
  // Ids that are no longer survivors (merged, or gone) have nothing left to re-check.
  for (const id of ids) if (!existing.has(id) || resolved.get(id) !== id) rechecks.push({ profileId: id, dueAt: null });

  // Exits first: a profile may not hold two open stays in one audience, even for an instant.
  for (const [reason, stays] of exits) {
    // Each stay closes under the version of its audience in force now (the deleted version for `deleted`).
    for (const [version, group] of groupBy(stays, (s) => byKey.get(s.audienceKey)?.version ?? s.enteredVersion))
      await tx.memberships.exit(group, now, version, reason);
  }
  await tx.memberships.enter(enters);
  await tx.memberships.setRechecks(rechecks);
  for (const stay of enters) outcome.changes.push(membershipChange(AUDIENCE_ENTERED, stay, stay.enteredVersion, now));
  for (const [reason, stays] of exits)
    for (const stay of stays)
      outcome.changes.push(
        membershipChange(
          AUDIENCE_EXITED,
          stay,
          byKey.get(stay.audienceKey)?.version ?? stay.enteredVersion,
          now,
          reason,
        ),
      );
  outcome.entered = enters.length;
  outcome.exited = [...exits.values()].reduce((n, s) => n + s.length, 0);
  return outcome;
}

/** What the pipeline knows of a stored event when it decides whether its profile's audiences may have moved. */
export interface StoredEventEffects {
  type: string;
  /** The `track` call's event name. */
  name: string | null;
  /** The event created its profile, or merged others into it. */
  created: boolean;
  merged: boolean;
  /** It carried traits, or consents. */
  traits: boolean;
  consents: boolean;
}

/**
 * The incremental evaluator's filter (DESIGN §6), read once per batch: which stored events can change a profile's
 * audiences. One that created or merged a profile, carried traits, consents (when an audience reads them) or a
 * `group` call (when one reads accounts), or is a `track` of an event name a live audience reads, directly or
 * through a computed trait. Any other event (a page view; a `track` no audience names) leaves every condition as it
 * was, and its profile is not evaluated: on a store where most events are page views, most of the evaluator's reads.
 * Time passing is the scheduler's re-checks', which this does not change.
 */
export async function loadAudienceFilter(
  tx: Stores,
): Promise<{ audiences: AudienceRow[]; relevant(e: StoredEventEffects): boolean }> {
  const audiences = await tx.audiences.list({ includeDeleted: true });
  const live = audiences.filter((a) => a.deletedAt === null);
  if (audiences.length === 0) return { audiences, relevant: () => false };
  const { definitions: computed } = await loadComputedTraits(tx.settings);
  const needs = needsOf(
    live.map((a) => a.definition),
    Date.now(),
    computed,
  );
  return {
    audiences,
    relevant: (e) =>
      e.created ||
      e.merged ||
      e.traits ||
      (e.consents && needs.consents) ||
      (e.type === 'group' && needs.accounts) ||
      (e.type === 'track' && e.name !== null && needs.names.has(e.name)),
  };
}

/** The outbox row of a stay opened or closed: ids, keys and the version that decided it. */
export function membershipChange(
  kind: typeof AUDIENCE_ENTERED | typeof AUDIENCE_EXITED,
  stay: Pick<MembershipRow, 'id' | 'audienceKey' | 'profileId'>,
  version: number,
  at: number,
  reason?: ExitReason,
): ChangeInput {
  return {
    id: newUuid(),
    kind,
    profileId: stay.profileId,
    payload: {
      audienceKey: stay.audienceKey,
      profileId: stay.profileId,
      membershipId: stay.id,
      version,
      at,
      ...(reason ? { reason } : {}),
    },
    createdAt: at,
  };
}

/** The RFM computed traits of a profile's stored scores (none without scores). */
export function rfmTraits(row: RfmRow | undefined): Record<string, unknown> {
  if (!row) return {};
  return {
    rfm_r: row.r,
    rfm_f: row.f,
    rfm_m: row.m,
    rfm_score: `${row.r}${row.f}${row.m}`,
    rfm_segment: row.segment,
  };
}

/** The value of `key` in `map`, created with `make` when absent. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** Audiences ordered so that each comes after those its definition names (a cycle, refused on save, keeps key order). */
export function orderByDependency(audiences: readonly AudienceRow[]): AudienceRow[] {
  const byKey = new Map(audiences.map((a) => [a.key, a]));
  const out: AudienceRow[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (a: AudienceRow) => {
    if (state.has(a.key)) return;
    state.set(a.key, 'visiting');
    for (const k of referencedAudiences(a.definition)) {
      const dep = byKey.get(k);
      if (dep) visit(dep);
    }
    state.set(a.key, 'done');
    out.push(a);
  };
  for (const a of [...audiences].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))) visit(a);
  return out;
}

/** Keys of the audiences `definition` names, at any depth. */
export function referencedAudiences(definition: AudienceCondition): Set<string> {
  const out = new Set<string>();
  visit(definition, (n) => {
    if (n.type === 'audience') out.add(n.key);
  });
  return out;
}

function visit(node: AudienceCondition, f: (node: AudienceCondition) => void): void {
  f(node);
  if (node.type === 'and' || node.type === 'or') for (const c of node.conditions) visit(c, f);
  else if (node.type === 'not') visit(node.condition, f);
}

/** What the definitions read, so that a snapshot loads only that. */
interface Needs {
  names: Set<string>;
  /** Earliest event time any condition counts (exclusive); undefined: all time. */
  since: number | undefined;
  consents: boolean;
  accounts: boolean;
  /** Computed traits read: computed for each snapshot. */
  traits: Set<string>;
  /** RFM traits read: loaded from the stored scores. */
  rfm: boolean;
}

function needsOf(definitions: readonly AudienceDefinition[], now: number, computed: ComputedTraits): Needs {
  const needs: Needs = {
    names: new Set(),
    since: Number.POSITIVE_INFINITY,
    consents: false,
    accounts: false,
    traits: new Set(),
    rfm: false,
  };
  for (const definition of definitions) {
    visit(definition, (node) => {
      let n: Pick<EventCondition, 'name' | 'window'> | undefined;
      if (node.type === 'consent') needs.consents = true;
      else if (node.type === 'entity') needs.accounts = true;
      else if (node.type === 'event') n = node;
      else if (node.type === 'computed_trait' && isRfmTrait(node.key)) needs.rfm = true;
      else if (node.type === 'computed_trait') {
        const trait = computed.get(node.key);
        if (trait) {
          needs.traits.add(node.key);
          n = { name: trait.event, window: trait.window };
        }
      }
      if (n) {
        needs.names.add(n.name);
        const w = n.window;
        // Relative: after now − length (future events included, for `nextExpiry`); absolute: from `from` on.
        const start = w === undefined ? undefined : isRelative(w) ? now - windowLength(w) + 1 : toDate(w.from);
        const from = start === undefined ? undefined : start - 1;
        if (from === undefined || needs.since === undefined) needs.since = undefined;
        else needs.since = Math.min(needs.since, from);
      }
    });
  }
  if (needs.since === Number.POSITIVE_INFINITY) needs.since = undefined;
  return needs;
}

/**
 * The snapshots of survivors `ids` at `now` for `definitions`, in a few statements for all of them: the survivor's
 * stored traits (as the SQL compiler reads them), and over its family (itself and the ids redirected to it) the
 * `track` events the definitions name (since the earliest instant a window reads), the consents current at `now`
 * and the linked accounts. `audiences` starts empty: the caller fills it.
 */
export async function loadSnapshots(
  tx: Stores,
  ids: readonly string[],
  definitions: readonly AudienceDefinition[],
  now: number,
  computed: ComputedTraits = new Map(),
): Promise<Map<string, ProfileSnapshot>> {
  const out = new Map<string, ProfileSnapshot>();
  if (ids.length === 0) return out;
  const needs = needsOf(definitions, now, computed);
  const families = await tx.identities.families(ids);
  const owner = new Map<string, string>();
  for (const [survivor, family] of families) for (const id of family) owner.set(id, survivor);
  const all = [...owner.keys()];
  const events = new Map<string, SnapshotEvent[]>();
  const accounts = new Map<string, Map<string, { traits: Record<string, unknown> }>>();
  if (needs.names.size > 0) {
    for (const e of await tx.events.tracks(all, [...needs.names], needs.since)) {
      const s = owner.get(e.profileId) as string;
      entry(events, s, () => []).push({ id: e.id, name: e.name, timestamp: e.timestamp, properties: e.properties });
    }
  }
  // The latest `valid_from` (then id) among rows valid at `now`, over the family: as the compiler reads them.
  const consents = needs.consents ? await consentsOf(tx, all, owner, now) : new Map<string, Map<string, boolean>>();
  if (needs.accounts) {
    for (const link of await tx.accounts.links(all)) {
      const s = owner.get(link.profileId) as string;
      entry(accounts, s, () => new Map()).set(link.accountId, { traits: link.traits });
    }
  }
  const rfm = new Map((needs.rfm ? await tx.rfm.get(ids) : []).map((row) => [row.profileId, row]));
  for (const p of await tx.profiles.get(ids)) {
    const own = events.get(p.id) ?? [];
    const computedTraits: Record<string, unknown> = { ...rfmTraits(rfm.get(p.id)) };
    for (const key of needs.traits) {
      const value = computeTrait(computed.get(key) as ComputedTraitDefinition, own, now);
      if (value !== undefined) computedTraits[key] = value;
    }
    out.set(p.id, {
      traits: p.traits,
      computedTraits,
      events: own,
      consents: Object.fromEntries(consents.get(p.id) ?? []),
      accounts: [...(accounts.get(p.id)?.values() ?? [])],
      audiences: new Set(),
    });
  }
  return out;
}

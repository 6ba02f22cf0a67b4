import { toPublicId } from '@tessera/protocol';
import { newUuid } from '../ids.js';
import type { LoggedEvent } from '../ingest/logged-event.js';
import { extractIdentifiers } from './extract-identifiers.js';
import { checkLimits, identifierKey, mergeGuard, survivorOrder } from './identity-limits.js';
import { normaliseIdentifier } from './normalise-identifier.js';
import type { DecisionRow, Identifier, IdentityRow, IdentityStore, ProfileRegistry } from './ports.js';
import { type IdentityRules, rankOf, ruleOf } from './rules.js';

export interface ResolveInput {
  event: LoggedEvent;
  eventId: string;
  sourceId: string;
  /** Event time (ms): windows count identifiers first seen within `windowDays` of it. */
  at: number;
  /** Processing time (ms). */
  now: number;
  rules: IdentityRules;
  rulesVersion: number;
}

export type ResolveResult =
  | {
      ok: true;
      profileId: string;
      created: boolean;
      /** Profiles merged into `profileId` by this event. */
      merged: string[];
      /** Identifiers newly linked to the profile. */
      linked: Identifier[];
      decisions: DecisionRow[];
    }
  | { ok: false; code: 'missing_identity'; reason: string };

interface Incoming extends Identifier {
  from: string;
  merge: boolean;
  /** Survivor currently owning it, if known. */
  owner?: string;
}

const key = identifierKey;

/**
 * Deterministic identity resolution of one event (DESIGN §4). Must run inside the effects transaction.
 * Steps: extract and normalise identifiers (blocked and invalid values recorded and dropped); find their profiles;
 * while a per-type limit would be exceeded by joining them, drop the lowest-priority incoming identifier that
 * takes part in the conflict; guard the merge size; merge into the survivor (earliest createdAt, then smallest
 * id) through redirects; link the new identifiers. Every drop and merge is returned for recording.
 */
export async function resolveIdentity(
  deps: { identities: IdentityStore; profiles: ProfileRegistry },
  input: ResolveInput,
): Promise<ResolveResult> {
  const { rules, event } = input;
  const decisions: DecisionRow[] = [];
  const decide = (kind: DecisionRow['kind'], i: Identifier | null, reason: string, evidence: unknown = {}) =>
    decisions.push({
      id: newUuid(),
      profileId: null,
      eventId: input.eventId,
      kind,
      identifierType: i?.type ?? null,
      identifierValue: i?.value ?? null,
      reason,
      evidence,
      settingsVersion: input.rulesVersion,
      createdAt: input.now,
    });

  const { types, blocked } = prepared(rules);
  const raw = extractIdentifiers(event, types);
  const incoming: Incoming[] = [];
  const addIncoming = (type: string, value: unknown, from: string) => {
    const n = normaliseIdentifier(type, value, rules.defaultPhoneRegion);
    if (!n.ok) return decide('blocked', { type, value: String(value).slice(0, 128) }, n.reason, { from });
    if (blocked.has(n.value.toLowerCase()))
      return decide('blocked', { type, value: n.value }, 'blocked_value', { from });
    if (incoming.some((i) => i.type === type && i.value === n.value)) return;
    incoming.push({ type, value: n.value, from, merge: ruleOf(rules, type).merge });
  };
  for (const r of raw) addIncoming(r.type, r.value, r.from);

  if (event.type === 'alias' && event.previousId !== undefined) {
    const prev = normaliseIdentifier('user_id', event.previousId, rules.defaultPhoneRegion);
    if (prev.ok) {
      const asUser = await deps.identities.find([{ type: 'user_id', value: prev.value }]);
      const userId = incoming.find((i) => i.type === 'user_id');
      if (asUser.length > 0 && userId && userId.value !== prev.value) {
        decide('refused', { type: 'user_id', value: prev.value }, 'alias_joins_user_ids', { userId: userId.value });
      } else if (asUser.length === 0) {
        addIncoming('anonymous_id', event.previousId, 'previousId');
      }
    }
  }
  if (incoming.length === 0) {
    return { ok: false, code: 'missing_identity', reason: 'no usable identifier (all absent, invalid or blocked)' };
  }

  // Owners of the incoming identifiers, redirected to survivors.
  const rows = await deps.identities.find(incoming);
  const survivors = await deps.identities.resolve([...new Set(rows.map((r) => r.profileId))]);
  const ownerOf = new Map(rows.map((r) => [key(r), survivors.get(r.profileId) ?? r.profileId]));
  for (const i of incoming) i.owner = ownerOf.get(key(i));

  const familyIds = new Map<string, IdentityRow[]>();
  const identitiesOf = async (survivor: string) => {
    let ids = familyIds.get(survivor);
    if (!ids) {
      ids = await deps.identities.ofProfiles(await deps.identities.family(survivor));
      familyIds.set(survivor, ids);
    }
    return ids;
  };

  const kept = incoming.filter((i) => i.merge);
  const linkOnly = incoming.filter((i) => !i.merge);
  /** A guard: no merge; the event keeps the links to its highest-priority profile, plus its new identifiers. */
  const keepBestOwner = (reason: string, evidence: Record<string, unknown>) => {
    const best = kept.filter((i) => i.owner).sort((a, b) => rankOf(rules, a.type) - rankOf(rules, b.type))[0];
    const detached = kept.filter((k) => k.owner && k.owner !== best?.owner);
    for (const i of detached) kept.splice(kept.indexOf(i), 1);
    decide('guard', null, reason, {
      ...evidence,
      detached: detached.map((i) => ({
        type: i.type,
        value: i.value,
        profileId: toPublicId('profile', i.owner as string),
      })),
    });
  };
  // Drop lowest-priority incoming identifiers until joining what remains exceeds no limit. A type violates only when
  // joining or linking raises its count above both the limit and what one involved profile already holds (a
  // pre-existing excess, from a tightened rule or a late event, is left to review, never made worse).
  let identifierCount = 0;
  // Nothing new and at most one profile: joining changes no count (the common case of a known visitor).
  const unchanged = kept.every((i) => i.owner) && ownersOf(kept).length <= 1;
  for (; !unchanged; ) {
    const families: IdentityRow[][] = [];
    for (const o of ownersOf(kept)) families.push(await identitiesOf(o));
    const check = checkLimits(
      rules,
      families,
      kept.filter((i) => !i.owner),
      input.at,
    );
    identifierCount = check.identifiers;
    const violating = new Set(check.violating);
    if (violating.size === 0) break;
    const contributes = (i: Incoming) =>
      i.owner ? (familyIds.get(i.owner) ?? []).some((r) => violating.has(r.type)) : violating.has(i.type);
    const soleLinks = kept.filter(
      (i) => contributes(i) && (!i.owner || kept.filter((k) => k.owner === i.owner).length === 1),
    );
    // When every contributing profile is reached through several identifiers, drop links one by one.
    const involved = soleLinks.length > 0 ? soleLinks : kept.filter(contributes);
    const victim = involved.sort((a, b) => rankOf(rules, b.type) - rankOf(rules, a.type))[0];
    if (!victim) {
      keepBestOwner('unresolvable_limit', { violating: [...violating] });
      break;
    }
    kept.splice(kept.indexOf(victim), 1);
    decide('drop', victim, 'limit_exceeded', {
      violating: [...violating],
      owner: victim.owner ? toPublicId('profile', victim.owner) : null,
      from: victim.from,
    });
  }

  let owners = ownersOf(kept);
  const guard = mergeGuard(rules, owners.length, identifierCount);
  if (guard) keepBestOwner(guard.reason, guard.evidence);
  owners = ownersOf(kept);

  let profileId: string;
  let created = false;
  const merged: string[] = [];
  if (owners.length === 0) {
    const linkedOwner = linkOnly
      .filter((i) => i.owner)
      .sort((a, b) => rankOf(rules, a.type) - rankOf(rules, b.type))[0]?.owner;
    if (linkedOwner && kept.length === 0) profileId = linkedOwner;
    else {
      profileId = newUuid();
      created = true;
      await deps.profiles.create({
        id: profileId,
        createdAt: input.now,
        updatedAt: input.now,
        traits: {},
        traitTimes: {},
      });
    }
  } else if (owners.length === 1) {
    profileId = owners[0];
  } else {
    const profiles = (await deps.profiles.get(owners)).sort(survivorOrder);
    profileId = profiles[0].id;
    const losers = profiles.slice(1).map((p) => p.id);
    await deps.identities.redirect(losers, profileId, input.now, input.at);
    for (const loser of losers) {
      await deps.identities.recordMerge({
        id: newUuid(),
        survivorId: profileId,
        mergedId: loser,
        mergedAt: input.now,
        validAt: input.at,
        rule: 'deterministic',
        evidence: {
          messageId: event.messageId,
          linkedBy: kept
            .filter((i) => i.owner === loser || i.owner === profileId)
            .map((i) => ({ type: i.type, value: i.value, profileId: toPublicId('profile', i.owner as string) })),
        },
        eventId: input.eventId,
        settingsVersion: input.rulesVersion,
      });
      merged.push(loser);
    }
  }

  // Link identifiers nobody owns yet (link-only ones too: a device is attached to the first profile seen on it).
  const fresh = [...kept, ...linkOnly].filter((i) => !i.owner);
  const existingCount =
    created || fresh.length === 0
      ? 0
      : (await deps.identities.ofProfiles(await deps.identities.family(profileId))).length;
  const room = Math.max(0, rules.maxIdentifiersPerProfile - existingCount);
  const toLink = fresh.slice(0, room);
  if (fresh.length > room) {
    decide('guard', null, 'max_identifiers_per_profile', {
      dropped: fresh.slice(room).map((i) => ({ type: i.type, value: i.value })),
    });
  }
  if (toLink.length > 0) {
    await deps.identities.link(
      toLink.map((i) => ({
        type: i.type,
        value: i.value,
        profileId,
        sourceId: input.sourceId,
        eventId: input.eventId,
        firstSeenAt: input.at,
        createdAt: input.now,
      })),
    );
  }
  for (const d of decisions) d.profileId = profileId;
  if (decisions.length > 0) await deps.identities.recordDecisions(decisions);
  if (decisions.some((d) => d.kind === 'guard')) {
    await deps.identities.addReview({
      id: newUuid(),
      kind: 'identity_guard',
      status: 'open',
      reason: decisions
        .filter((d) => d.kind === 'guard')
        .map((d) => d.reason)
        .join(','),
      evidence: {
        eventId: input.eventId,
        decisions: decisions.filter((d) => d.kind === 'guard').map((d) => d.evidence),
      },
      profileId,
      createdAt: input.now,
    });
  }
  return {
    ok: true,
    profileId,
    created,
    merged,
    linked: toLink.map(({ type, value }) => ({ type, value })),
    decisions,
  };
}

/** What every event needs of a rules version, computed once per version. */
const preparedRules = new WeakMap<IdentityRules, { types: string[]; blocked: Set<string> }>();
function prepared(rules: IdentityRules): { types: string[]; blocked: Set<string> } {
  let p = preparedRules.get(rules);
  if (!p) {
    p = { types: Object.keys(rules.types), blocked: new Set(rules.blockedValues.map((v) => v.toLowerCase())) };
    preparedRules.set(rules, p);
  }
  return p;
}

/** The distinct owners of `ids`, in first-seen order (a loop: this runs a few times per event). */
function ownersOf(ids: readonly Incoming[]): string[] {
  const owners: string[] = [];
  for (const i of ids) if (i.owner && !owners.includes(i.owner)) owners.push(i.owner);
  return owners;
}

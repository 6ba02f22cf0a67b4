import { toPublicId } from '@tessera/protocol';
import { newUuid } from '../ids.js';
import type { LoggedEvent } from '../ingest/logged-event.js';
import type { Storage, Stores } from '../storage/storage.js';
import { extractIdentifiers } from './extract-identifiers.js';
import type { GoldenRecords } from './golden-records.js';
import { checkLimits, countsTowardLimit } from './identity-limits.js';
import { mergeProfilesIn } from './merge-profiles.js';
import { normaliseIdentifier } from './normalise-identifier.js';
import type { Identifier } from './ports.js';
import { type IdentityRules, loadIdentityRules, ruleOf } from './rules.js';

export interface RebuildOptions {
  /** Only log entries received at or after this time (ms). */
  since?: number;
  now?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RebuildSummary {
  /** Log entries read (received since `since`). */
  entries: number;
  /** Entries whose event was found and re-resolved (rejected calls and quarantined events have none). */
  events: number;
  /** Profiles merged away because the rules now join them. */
  merged: number;
  /** Identifiers linked that were not (a type now configured, a value no longer blocked…). */
  linked: number;
  /** Joins or links the limits refused (each recorded; joins go to review). */
  refused: number;
  /** Families that break a limit of the current rules: review items opened (links are never undone here). */
  violations: number;
  settingsVersion: number;
}

const BATCH = 500;

/**
 * `tessera identity rebuild [--since T]`: re-resolves identities from the ingest log after a rules change (DESIGN §4).
 * Each logged event since T, in log order, is resolved again with the current rules against the graph as it is:
 * profiles the rules now join (a type made mergeable, a raised limit, a value no longer blocked) are merged through
 * `mergeProfiles` (rule `rebuild`, limits checked; a refusal goes to review), and identifiers not linked yet (a type
 * now configured) are linked to the event's profile within the limits. Stored rows are not re-keyed: each event
 * keeps the profile it was stored under. What the new rules forbid in links already made (a lowered limit, a value
 * now blocked) is not undone automatically (DESIGN §4: existing links change only by unmerge or an admin action): each
 * family touched that now breaks a limit gets a `rules_violation` review item.
 *
 * Reads the `ingest_log` table: embedded and single-PostgreSQL modes (in cluster mode the log is a JetStream stream).
 */
export async function rebuildIdentities(
  deps: { storage: Storage; golden: GoldenRecords },
  opts: RebuildOptions = {},
): Promise<RebuildSummary> {
  const { storage, golden } = deps;
  const now = opts.now ?? Date.now();
  const since = opts.since ?? Number.NEGATIVE_INFINITY;
  const { rules, version: settingsVersion } = await loadIdentityRules(storage.settings);
  const types = Object.keys(rules.types);
  const blocked = new Set(rules.blockedValues.map((v) => v.toLowerCase()));
  const summary: RebuildSummary = {
    entries: 0,
    events: 0,
    merged: 0,
    linked: 0,
    refused: 0,
    violations: 0,
    settingsVersion,
  };
  const last = await storage.log.lastPosition();
  const touched = new Set<string>();
  for (let after = 0; after < last; ) {
    const page = await storage.log.read(after, BATCH);
    if (page.length === 0) break;
    after = page[page.length - 1].position;
    const wanted = page.filter((e) => !e.rejection && e.receivedAt >= since);
    summary.entries += wanted.length;
    if (wanted.length > 0) {
      await storage.transaction(
        async (tx) => {
          const rows = await tx.events.byLogPositions(wanted.map((e) => e.position));
          const byPosition = new Map(rows.map((r) => [r.logPosition, r]));
          for (const entry of wanted) {
            const row = byPosition.get(entry.position);
            if (!row) continue;
            let event: LoggedEvent;
            try {
              event = JSON.parse(entry.payload) as LoggedEvent;
            } catch {
              continue;
            }
            const at = Date.parse(event.timestamp);
            summary.events++;
            const identifiers = extractIdentifiers(event, types).flatMap((r): Identifier[] => {
              const n = normaliseIdentifier(r.type, r.value, rules.defaultPhoneRegion);
              return n.ok && !blocked.has(n.value.toLowerCase()) ? [{ type: r.type, value: n.value }] : [];
            });
            const home = await reresolve(tx, golden, rules, settingsVersion, summary, {
              identifiers,
              profileId: row.profileId,
              eventId: row.id,
              sourceId: entry.sourceId,
              messageId: event.messageId,
              at: Number.isFinite(at) ? at : entry.receivedAt,
              now,
            });
            touched.add(home);
          }
        },
        { write: true },
      );
    }
    opts.onProgress?.(after, last);
  }
  // Families that break a limit of the rules now in force: a person decides (review), nothing is undone here.
  const survivors = await storage.identities.resolve([...touched]);
  for (const id of new Set(survivors.values())) {
    const held = await storage.identities.ofProfiles(await storage.identities.family(id));
    const counts: Record<string, { count: number; limit: number }> = {};
    for (const r of held) {
      const limit = ruleOf(rules, r.type).limit;
      if (limit === undefined || !countsTowardLimit(rules, r.type, r.firstSeenAt, now)) continue;
      counts[r.type] ??= { count: 0, limit };
      counts[r.type].count++;
    }
    const violating = Object.keys(counts).filter((t) => counts[t].count > counts[t].limit);
    if (violating.length === 0) continue;
    await storage.identities.addReview({
      id: newUuid(),
      kind: 'rules_violation',
      status: 'open',
      reason: `limit_exceeded:${violating.join(',')}`,
      evidence: {
        profileId: toPublicId('profile', id),
        counts: Object.fromEntries(violating.map((t) => [t, counts[t]])),
        settingsVersion,
      },
      profileId: id,
      createdAt: now,
    });
    summary.violations++;
  }
  return summary;
}

/** Re-resolves one event; returns the survivor its profile belongs to afterwards. */
async function reresolve(
  tx: Stores,
  golden: GoldenRecords,
  rules: IdentityRules,
  settingsVersion: number,
  summary: RebuildSummary,
  e: {
    identifiers: Identifier[];
    profileId: string;
    eventId: string;
    sourceId: string;
    messageId: string;
    at: number;
    now: number;
  },
): Promise<string> {
  const owned = await tx.identities.find(e.identifiers);
  const survivors = await tx.identities.resolve([e.profileId, ...owned.map((r) => r.profileId)]);
  let home = survivors.get(e.profileId) ?? e.profileId;
  const ownerOf = new Map(owned.map((r) => [`${r.type}\u0000${r.value}`, survivors.get(r.profileId) ?? r.profileId]));
  const joining = [
    ...new Set(
      e.identifiers
        .filter((i) => ruleOf(rules, i.type).merge)
        .map((i) => ownerOf.get(`${i.type}\u0000${i.value}`))
        .filter((o): o is string => o !== undefined && o !== home),
    ),
  ];
  if (joining.length > 0) {
    const r = await mergeProfilesIn(tx, golden, {
      profileIds: [home, ...joining],
      rule: 'rebuild',
      evidence: {
        messageId: e.messageId,
        linkedBy: e.identifiers
          .filter((i) => joining.includes(ownerOf.get(`${i.type}\u0000${i.value}`) ?? ''))
          .map((i) => ({ type: i.type, value: i.value })),
      },
      now: e.now,
      validAt: e.at,
      settingsVersion,
      rules,
    });
    if (r.ok) {
      summary.merged += r.merged.length;
      home = r.survivorId;
    } else {
      summary.refused++;
      await tx.identities.addReview({
        id: newUuid(),
        kind: 'identity_guard',
        status: 'open',
        reason: `rebuild:${r.reason}`,
        evidence: { eventId: e.eventId, decisions: [r.evidence] },
        profileId: home,
        createdAt: e.now,
      });
    }
  }
  const fresh = e.identifiers.filter((i) => !ownerOf.has(`${i.type}\u0000${i.value}`));
  if (fresh.length === 0) return home;
  const held = await tx.identities.ofProfiles(await tx.identities.family(home));
  const check = checkLimits(rules, [held], fresh, e.at);
  const room = Math.max(0, rules.maxIdentifiersPerProfile - held.length);
  const allowed = fresh.filter((i) => !check.violating.includes(i.type)).slice(0, room);
  for (const i of fresh) {
    if (allowed.includes(i)) continue;
    summary.refused++;
    await tx.identities.recordDecision({
      id: newUuid(),
      profileId: home,
      eventId: e.eventId,
      kind: 'drop',
      identifierType: i.type,
      identifierValue: i.value,
      reason: check.violating.includes(i.type) ? 'limit_exceeded' : 'max_identifiers_per_profile',
      evidence: { rebuild: true },
      settingsVersion,
      createdAt: e.now,
    });
  }
  await tx.identities.link(
    allowed.map((i) => ({
      type: i.type,
      value: i.value,
      profileId: home,
      sourceId: e.sourceId,
      eventId: e.eventId,
      firstSeenAt: e.at,
      createdAt: e.now,
    })),
  );
  summary.linked += allowed.length;
  return home;
}

import { toPublicId } from '@tessera/protocol';
import { newUuid } from '../ids.js';
import type { LoggedEvent } from '../ingest/logged-event.js';
import type { Storage, Stores } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { extractIdentifiers } from './extract-identifiers.js';
import type { GoldenRecords } from './golden-records.js';
import { checkLimits, countsTowardLimit, identifierKey } from './identity-limits.js';
import { mergeProfilesIn } from './merge-profiles.js';
import { normaliseIdentifier } from './normalise-identifier.js';
import type { Identifier } from './ports.js';
import { type IdentityRules, loadIdentityRules, rankOf, ruleOf } from './rules.js';

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
  /** Profiles left out of a join because the limits refuse it (as the pipeline left them out: nothing recorded). */
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
 * `mergeProfiles` (rule `rebuild`, limits checked; a join they refuse is narrowed as the pipeline narrows it), and
 * identifiers not linked yet (a type now configured) are linked to the event's profile within the limits. One
 * transaction per event, its identifiers locked first; a second run with the same rules changes nothing. Stored rows are not re-keyed: each event
 * keeps the profile it was stored under. What the new rules forbid in links already made (a lowered limit, a value
 * now blocked) is not undone automatically (DESIGN §4: existing links change only by unmerge or an admin action): each
 * family touched that now breaks a limit gets a `rules_violation` review item (one open item per family).
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
  // Entries before `since` are not read at all; positions are in receive order, so a later entry received earlier
  // than `since` (clock moved back) is skipped by the filter below.
  for (let after = opts.since === undefined ? 0 : await storage.log.positionBefore(since); after < last; ) {
    const page = await storage.log.read(after, BATCH);
    if (page.length === 0) break;
    after = page[page.length - 1].position;
    const wanted = page.filter((e) => !e.rejection && e.receivedAt >= since);
    summary.entries += wanted.length;
    const rows = wanted.length === 0 ? [] : await storage.events.byLogPositions(wanted.map((e) => e.position));
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
      // One transaction per event, its identifiers locked first (cluster mode: as a worker's batch does), run
      // again after a deadlock; the counts are added once it commits.
      const counts = { merged: 0, linked: 0, refused: 0 };
      const home = await writeTransaction(storage, async (tx) => {
        counts.merged = 0;
        counts.linked = 0;
        counts.refused = 0;
        await tx.identities.lock(identifiers);
        return reresolve(tx, golden, rules, settingsVersion, counts, {
          identifiers,
          profileId: row.profileId,
          eventId: row.id,
          sourceId: entry.sourceId,
          messageId: event.messageId,
          at: Number.isFinite(at) ? at : entry.receivedAt,
          now,
        });
      });
      summary.merged += counts.merged;
      summary.linked += counts.linked;
      summary.refused += counts.refused;
      touched.add(home);
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
    const family = await storage.identities.family(id);
    const open = await storage.identities.reviews({ status: 'open', profileIds: family, limit: 1000 });
    if (open.some((r) => r.kind === 'rules_violation')) continue;
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

/**
 * Re-resolves one event; returns the survivor its profile belongs to afterwards. A join the limits refuse is narrowed
 * as the pipeline narrows it: the profile reached through the lowest-priority identifier is left out, until the
 * join passes or nothing is left to join. Nothing is recorded for what stays as it was (a second run is a no-op).
 */
async function reresolve(
  tx: Stores,
  golden: GoldenRecords,
  rules: IdentityRules,
  settingsVersion: number,
  counts: { merged: number; linked: number; refused: number },
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
  const ownerOf = new Map(owned.map((r) => [identifierKey(r), survivors.get(r.profileId) ?? r.profileId]));
  // Profiles to join, each with the rank of the best identifier reaching it (lowest rank: highest priority).
  const rankOfOwner = new Map<string, number>();
  for (const i of e.identifiers) {
    const owner = ownerOf.get(identifierKey(i));
    if (!owner || owner === home || !ruleOf(rules, i.type).merge) continue;
    rankOfOwner.set(owner, Math.min(rankOfOwner.get(owner) ?? Number.POSITIVE_INFINITY, rankOf(rules, i.type)));
  }
  const joining = [...rankOfOwner.keys()].sort((a, b) => (rankOfOwner.get(a) ?? 0) - (rankOfOwner.get(b) ?? 0));
  while (joining.length > 0) {
    const r = await mergeProfilesIn(tx, golden, {
      profileIds: [home, ...joining],
      rule: 'rebuild',
      evidence: {
        messageId: e.messageId,
        linkedBy: e.identifiers
          .filter((i) => joining.includes(ownerOf.get(identifierKey(i)) ?? ''))
          .map((i) => ({ type: i.type, value: i.value })),
      },
      now: e.now,
      validAt: e.at,
      settingsVersion,
      rules,
    });
    if (r.ok) {
      counts.merged += r.merged.length;
      home = r.survivorId;
      break;
    }
    joining.pop();
    counts.refused++;
  }
  // Identifiers nobody holds yet, linked one by one while the limits allow.
  const fresh = e.identifiers.filter((i) => !ownerOf.has(identifierKey(i)));
  if (fresh.length === 0) return home;
  const held = await tx.identities.ofProfiles(await tx.identities.family(home));
  const allowed: Identifier[] = [];
  for (const i of fresh) {
    if (held.length + allowed.length >= rules.maxIdentifiersPerProfile) break;
    if (checkLimits(rules, [held], [...allowed, i], e.at).violating.length === 0) allowed.push(i);
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
  counts.linked += allowed.length;
  return home;
}

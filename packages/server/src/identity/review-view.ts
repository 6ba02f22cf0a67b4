import { fromPublicId, type ReviewItem, type ReviewSide, toPublicId } from '@tessera/protocol';
import type { Stores } from '../storage/storage.js';
import type { ReviewRow } from './ports.js';
import { GUARD_REVIEW, matchReviewEvidence } from './review-queue.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The profile ids an item names (as stored): the pair of a match; the profile and the detached ones of a guard. */
function namedProfiles(row: ReviewRow): string[] {
  const pair = matchReviewEvidence(row);
  if (pair) return [pair.leftId, pair.rightId];
  const ids = row.profileId ? [row.profileId] : [];
  if (row.kind === GUARD_REVIEW) {
    const decisions = (row.evidence as { decisions?: { detached?: { profileId?: unknown }[] }[] } | null)?.decisions;
    for (const d of Array.isArray(decisions) ? decisions : [])
      for (const x of Array.isArray(d?.detached) ? d.detached : []) {
        const id = typeof x?.profileId === 'string' ? fromPublicId('profile', x.profileId) : undefined;
        if (id && !ids.includes(id)) ids.push(id);
      }
  }
  return ids;
}

/** The evidence as the API shows it: public ids. */
function evidenceView(row: ReviewRow): unknown {
  const pair = matchReviewEvidence(row);
  if (pair)
    return {
      leftId: toPublicId('profile', pair.leftId),
      rightId: toPublicId('profile', pair.rightId),
      match: pair.match,
    };
  const e = row.evidence as Record<string, unknown> | null;
  if (e && typeof e === 'object' && typeof e.eventId === 'string' && !e.eventId.startsWith('evt_'))
    return { ...e, eventId: toPublicId('event', e.eventId) };
  return row.evidence;
}

/**
 * Review items as the API shows them (`ReviewItem`): each named profile with its survivor's current traits and
 * identifiers (read in a few statements for the whole page), the match and its per-field comparison.
 */
export async function reviewItems(stores: Stores, rows: readonly ReviewRow[]): Promise<ReviewItem[]> {
  const named = rows.map(namedProfiles);
  const all = [...new Set(named.flat())];
  const survivorOf = await stores.identities.resolve(all);
  const survivors = [...new Set(survivorOf.values())];
  const profiles = new Map((await stores.profiles.get(survivors)).map((p) => [p.id, p]));
  const familyOf = new Map<string, string>();
  for (const s of survivors) for (const id of await stores.identities.family(s)) familyOf.set(id, s);
  const identities = new Map<string, { type: string; value: string }[]>();
  for (const i of await stores.identities.ofProfiles([...familyOf.keys()])) {
    const s = familyOf.get(i.profileId) as string;
    identities.set(s, [...(identities.get(s) ?? []), { type: i.type, value: i.value }]);
  }
  const side = (id: string | undefined): ReviewSide | null => {
    if (id === undefined) return null;
    const s = survivorOf.get(id) ?? id;
    return {
      id: toPublicId('profile', id),
      survivorId: toPublicId('profile', s),
      traits: profiles.get(s)?.traits ?? {},
      identities: (identities.get(s) ?? []).sort(
        (a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value),
      ),
    };
  };
  return rows.map((row, i) => {
    const match = matchReviewEvidence(row)?.match;
    return {
      id: toPublicId('review', row.id),
      kind: row.kind,
      status: row.status,
      reason: row.reason,
      createdAt: iso(row.createdAt),
      decidedAt: row.decidedAt == null ? null : iso(row.decidedAt),
      decidedBy: row.decidedBy ?? null,
      left: side(named[i][0]),
      right: side(named[i][1]),
      match: match ? { probability: match.probability, weight: match.weight } : null,
      comparison: match?.fields ?? [],
      evidence: evidenceView(row),
    };
  });
}

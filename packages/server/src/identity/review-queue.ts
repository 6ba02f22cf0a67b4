import { Value } from '@sinclair/typebox/value';
import { MatchEvidence, toPublicId } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { Stores } from '../storage/storage.js';
import type { GoldenRecords } from './golden-records.js';
import { mergeProfilesIn } from './merge-profiles.js';
import type { IdentityStore, ReviewRow } from './ports.js';
import type { IdentityRules } from './rules.js';

/** The kind of a pair the probabilistic matcher sends to review. */
export const MATCH_REVIEW = 'probabilistic_match';
/** The kind of a merge a guard of identity resolution stopped (`resolveIdentity`). */
export const GUARD_REVIEW = 'identity_guard';

/** The evidence of a `probabilistic_match` item: the pair (profile ids as stored) and how it matched. */
export interface MatchReviewEvidence {
  leftId: string;
  rightId: string;
  /** `null` when the recorded match does not have the `MatchEvidence` shape (a matcher of another version). */
  match: MatchEvidence | null;
}

/** The evidence of a `probabilistic_match` item, or `undefined` when it names no pair. */
export function matchReviewEvidence(row: ReviewRow): MatchReviewEvidence | undefined {
  const e = row.evidence as { leftId?: unknown; rightId?: unknown; match?: unknown } | null;
  if (row.kind !== MATCH_REVIEW || typeof e !== 'object' || e === null) return undefined;
  if (typeof e.leftId !== 'string' || typeof e.rightId !== 'string') return undefined;
  return { leftId: e.leftId, rightId: e.rightId, match: asMatchEvidence(e.match) };
}

/** `value` when it has the `MatchEvidence` shape (answers declare it, so a stored one of another shape is left out). */
export function asMatchEvidence(value: unknown): MatchEvidence | null {
  return Value.Check(MatchEvidence, value) ? value : null;
}

/**
 * Opens a review item for a pair of the probabilistic matcher (kind `probabilistic_match`, evidence
 * `{leftId, rightId, match}`, opened on `leftId`), unless one is already open for the same pair (either order).
 * Returns the item added, or `undefined`.
 */
export async function openMatchReview(
  identities: IdentityStore,
  pair: { leftId: string; rightId: string; match: MatchEvidence; reason: string; now: number },
): Promise<ReviewRow | undefined> {
  const open = await identities.reviews({ status: 'open', profileIds: [pair.leftId, pair.rightId], limit: 1000 });
  const same = (r: ReviewRow) => {
    const e = matchReviewEvidence(r);
    return (
      e !== undefined &&
      ((e.leftId === pair.leftId && e.rightId === pair.rightId) ||
        (e.leftId === pair.rightId && e.rightId === pair.leftId))
    );
  };
  if (open.some(same)) return undefined;
  const row: ReviewRow = {
    id: newUuid(),
    kind: MATCH_REVIEW,
    status: 'open',
    reason: pair.reason,
    evidence: { leftId: pair.leftId, rightId: pair.rightId, match: pair.match },
    profileId: pair.leftId,
    createdAt: pair.now,
  };
  await identities.addReview(row);
  return row;
}

export interface ReviewDecisionInput {
  reviewId: string;
  status: 'accepted' | 'rejected';
  /** Who decides: the API token (`tok_…`). */
  by: string;
  now: number;
  rules: IdentityRules;
  settingsVersion: number;
}

/**
 * Decides an open review item inside transaction `tx` (a write transaction). Accepting a `probabilistic_match`
 * merges the pair (`mergeProfilesIn`, rule `review_accept`) and remembers it as an `accepted` match decision;
 * rejecting one remembers it as `rejected`, so later matcher runs do not merge it (see `loadMatchDecisions`).
 * Accepting an `identity_guard` item acknowledges it: the guard already chose what to keep, nothing is merged.
 * The item records who decided and when.
 *
 * @throws TesseraError `not_found` (no such item), `review_decided` (decided already), `merge_refused` (the merge
 *   would break an identity limit or guard: nothing is written and the item stays open).
 */
export async function decideReview(
  tx: Stores,
  golden: GoldenRecords,
  input: ReviewDecisionInput,
): Promise<{ row: ReviewRow; merge: { survivorId: string; merged: string[] } | null }> {
  const row = await tx.identities.review(input.reviewId);
  if (!row) throw new TesseraError('not_found', 'no such review item');
  const decided = () =>
    new TesseraError('review_decided', `this review item was already ${row.status}`, {
      details: { status: row.status },
    });
  if (row.status !== 'open') throw decided();
  const pair = matchReviewEvidence(row);
  let merge: { survivorId: string; merged: string[] } | null = null;
  if (pair && input.status === 'accepted') {
    const result = await mergeProfilesIn(tx, golden, {
      profileIds: [pair.leftId, pair.rightId],
      rule: 'review_accept',
      evidence: {
        reviewId: toPublicId('review', row.id),
        leftId: toPublicId('profile', pair.leftId),
        rightId: toPublicId('profile', pair.rightId),
        match: pair.match,
        decidedBy: input.by,
      },
      now: input.now,
      validAt: input.now,
      settingsVersion: input.settingsVersion,
      rules: input.rules,
    });
    if (!result.ok)
      throw new TesseraError('merge_refused', refusalMessage(result.reason, result.evidence), {
        details: { reason: result.reason, ...result.evidence },
      });
    merge = { survivorId: result.survivorId, merged: result.merged };
  }
  if (pair)
    await tx.identities.recordMatchDecision({
      id: newUuid(),
      pair: [pair.leftId, pair.rightId],
      decision: input.status,
      origin: 'review',
      refId: row.id,
      decidedAt: input.now,
      decidedBy: input.by,
    });
  // Guarded by the status: of two concurrent decisions only one changes the row; the other rolls back.
  if (!(await tx.identities.decideReview(row.id, { status: input.status, at: input.now, by: input.by })))
    throw decided();
  return { row: { ...row, status: input.status, decidedAt: input.now, decidedBy: input.by }, merge };
}

/** A sentence for a refused merge (no identifier values: they may be personal data). */
function refusalMessage(reason: string, evidence: Record<string, unknown>): string {
  const tail = '; the item stays open';
  if (reason === 'limit_exceeded') {
    const counts = evidence.counts as Record<string, { count: number; limit: number }>;
    const worst = Object.entries(counts)
      .map(([type, c]) => `${c.count} ${type} identifiers (limit ${c.limit})`)
      .join(', ');
    return `merging these profiles would give one profile ${worst}${tail}`;
  }
  if (reason === 'max_profiles_per_merge')
    return `merging these profiles would join ${evidence.profiles} profiles (limit ${evidence.limit})${tail}`;
  if (reason === 'max_identifiers_per_profile')
    return `merging these profiles would give one profile ${evidence.identifiers} identifiers (limit ${evidence.limit})${tail}`;
  return `a profile of this item no longer exists${tail}`;
}

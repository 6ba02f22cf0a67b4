import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, JsonObject, Nullable, Open, Page, PublicId } from './api.js';
import { DecisionView, UnmergeView } from './api-profiles.js';
import { FieldComparison, MatchEvidence } from './matching.js';

/**
 * Wire schemas of the identity API (DESIGN §4, §9): the review queue (`/v1/identity/review…`), unmerge
 * (`POST /v1/profiles/{id}/unmerge`) and the evidence graph (`GET /v1/profiles/{id}/explain`).
 */

export const REVIEW_STATUSES = ['open', 'accepted', 'rejected'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

/** One profile a review item names, as it is now. */
export const ReviewSide = Open(
  {
    id: PublicId('profile'),
    survivorId: PublicId('profile'),
    traits: JsonObject,
    identities: Type.Array(Open({ type: Type.String(), value: Type.String() })),
  },
  'A profile the item names (`id`, as recorded) and, as it is now, its survivor’s traits and identifiers',
);
export type ReviewSide = Static<typeof ReviewSide>;

/** An item of the identity review queue. */
export const ReviewItem = Open(
  {
    id: PublicId('review'),
    kind: Type.String({
      description:
        '`probabilistic_match`: a pair the matcher scored between its thresholds, or whose merge would break an ' +
        'identity limit; `identity_guard`: a merge a guard of identity resolution stopped',
    }),
    status: Type.Unsafe<ReviewStatus>({ type: 'string', enum: [...REVIEW_STATUSES] }),
    reason: Type.String(),
    createdAt: IsoTime,
    decidedAt: Nullable(IsoTime),
    decidedBy: Nullable(Type.String({ description: 'the API token (`tok_…`) that decided it' })),
    left: Nullable(ReviewSide),
    right: Nullable(ReviewSide),
    match: Nullable(
      Open({ probability: Type.Number(), weight: Type.Number() }, 'the match probability and total log2 weight'),
    ),
    comparison: Type.Array(FieldComparison, { description: 'how each field of the pair compared (matches only)' }),
    evidence: Type.Unknown({ description: 'the evidence as recorded, with public profile ids' }),
  },
  'An identity review item',
);
export type ReviewItem = Static<typeof ReviewItem>;

export const ReviewPage = Page(ReviewItem, 'Review items with that status, oldest first');
export type ReviewPage = Static<typeof ReviewPage>;

/** The answer of `POST /v1/identity/review/{id}/accept` and `…/reject`. */
export const ReviewDecision = Open(
  {
    item: ReviewItem,
    merge: Nullable(
      Open(
        { survivorId: PublicId('profile'), mergedIds: Type.Array(PublicId('profile')) },
        'the merge an accepted match made (`mergedIds` is empty when both were already one profile)',
      ),
    ),
  },
  'The decided item, and the merge an accepted match made (null otherwise)',
);
export type ReviewDecision = Static<typeof ReviewDecision>;

/** Body of `POST /v1/profiles/{id}/unmerge`. */
export const UnmergeBody = Type.Object(
  {
    profileIds: Type.Array(PublicId('profile'), {
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      description: 'ids merged into the profile to split out; each takes what was merged into it along',
    }),
    reason: Type.Optional(Type.String({ maxLength: 500, description: 'why, for the record' })),
  },
  { additionalProperties: false, description: 'Which merged ids to split out of the profile' },
);
export type UnmergeBody = Static<typeof UnmergeBody>;

/** One profile after an unmerge. */
export const UnmergePart = Open(
  { id: PublicId('profile'), mergedIds: Type.Array(PublicId('profile')) },
  'A survivor after the unmerge and the ids merged into it',
);
export type UnmergePart = Static<typeof UnmergePart>;

export const UnmergeResponse = Open(
  {
    parts: Type.Array(UnmergePart, { description: 'the profile that remains first, then each part split out' }),
    unmerges: Type.Array(UnmergeView),
  },
  'The profiles the family was split into, and the recorded unmerges',
);
export type UnmergeResponse = Static<typeof UnmergeResponse>;

/** A node of the evidence graph: one profile id. */
export const ExplainNode = Open(
  {
    id: PublicId('profile'),
    survivorId: PublicId('profile'),
    inFamily: Type.Boolean({ description: 'false for a profile split out of the family by an unmerge' }),
    createdAt: IsoTime,
    identifiers: Type.Array(
      Open({ type: Type.String(), value: Type.String(), sourceId: PublicId('source'), firstSeenAt: IsoTime }),
      { description: 'identifiers linked to this id (stored rows keep the id they were linked under)' },
    ),
  },
  'A profile id of the family',
);
export type ExplainNode = Static<typeof ExplainNode>;

/** An edge of the evidence graph: one merge. */
export const ExplainEdge = Open(
  {
    id: PublicId('merge'),
    from: PublicId('profile'),
    to: PublicId('profile'),
    rule: Type.String({ description: '`deterministic`, `probabilistic`, `review_accept`…' }),
    mergedAt: IsoTime,
    validAt: IsoTime,
    eventId: Nullable(PublicId('event')),
    settingsVersion: Type.Integer(),
    linkedBy: Nullable(
      Type.Array(Open({ type: Type.String(), value: Type.String(), profileId: PublicId('profile') }), {
        description: 'deterministic merges: the identifiers of the event that linked the profiles',
      }),
    ),
    match: Nullable(MatchEvidence),
    evidence: Type.Unknown({ description: 'the evidence as recorded' }),
    unmerged: Nullable(
      Open({ id: PublicId('unmerge'), unmergedAt: IsoTime, decidedBy: Type.String(), reason: Type.String() }),
    ),
  },
  'A merge: `from` was merged into `to`',
);
export type ExplainEdge = Static<typeof ExplainEdge>;

export const ExplainView = Open(
  {
    profileId: PublicId('profile'),
    nodes: Type.Array(ExplainNode),
    edges: Type.Array(ExplainEdge),
    unmerges: Type.Array(UnmergeView),
    decisions: Type.Array(DecisionView),
  },
  'The evidence graph of a profile: its ids, the merges between them with their evidence, unmerges and decisions',
);
export type ExplainView = Static<typeof ExplainView>;

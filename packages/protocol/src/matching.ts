import { type Static, Type } from '@sinclair/typebox';

/**
 * The probabilistic matcher's configuration (DESIGN §4, `docs/identity-matching.md`). A configuration describes a
 * file *shape* (which columns mean what), not a file: the matcher estimates its own weights (m by EM, u by random
 * sampling) from the records it is given.
 */

const Probability = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });

/** One agreement level of a field comparison. Levels are tried in order; the first that holds is the pair's level. */
export const MatchLevel = Type.Union(
  [
    Type.Object({ type: Type.Literal('exact') }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Literal('jaro_winkler'), min: Probability('similarity at least') },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('jaro'), min: Probability('similarity at least') },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('levenshtein'), max: Type.Integer({ minimum: 0, description: 'edit distance at most' }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('damerau_levenshtein'),
        max: Type.Integer({ minimum: 0, description: 'edit distance (with transpositions) at most' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('levenshtein_ratio'), min: Probability('1 - distance / longer length, at least') },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('metaphone') },
      { additionalProperties: false, description: 'the double-metaphone codes share one' },
    ),
    Type.Object(
      { type: Type.Literal('token_set'), min: Probability('Jaccard similarity of the word sets, at least') },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('swapped'),
        with: Type.String({ description: 'the other field: a.field = b.with and a.with = b.field (swapped names)' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('date_within'), days: Type.Number({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('date_swapped') },
      { additionalProperties: false, description: 'same year, day and month swapped (a common entry error)' },
    ),
    Type.Object(
      {
        type: Type.Literal('number_within'),
        abs: Type.Optional(Type.Number({ minimum: 0 })),
        rel: Type.Optional(Type.Number({ minimum: 0, description: 'relative difference at most' })),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('prefix'), length: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'An agreement level' },
);
export type MatchLevel = Static<typeof MatchLevel>;

/** What a column holds. A kind gives default levels, blocking keys and normalisation. */
export const FieldKind = Type.Union(
  [
    Type.Literal('name'),
    Type.Literal('text'),
    Type.Literal('address'),
    Type.Literal('date'),
    Type.Literal('number'),
    Type.Literal('id'),
    Type.Literal('email'),
    Type.Literal('phone'),
    Type.Literal('postcode'),
    Type.Literal('category'),
  ],
  { description: 'What a column holds' },
);
export type FieldKind = Static<typeof FieldKind>;

export const MatchField = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'column (CSV) or trait / identifier type (store)' }),
    kind: FieldKind,
    levels: Type.Optional(
      Type.Array(MatchLevel, {
        minItems: 1,
        maxItems: 8,
        description: 'agreement levels, best first (default: by kind); "else" and "missing" are implicit',
      }),
    ),
    group: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'fields that vary together (the parts of an address) share a group: the group counts as one piece of evidence, its strongest agreement plus its strongest disagreement, so a household is not a person',
      }),
    ),
    tf: Type.Optional(
      Type.Boolean({
        description:
          'term-frequency adjustment of the exact level: agreeing on a rare value counts more (default: true for name, text, address, postcode, category)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MatchField = Static<typeof MatchField>;

/** A part of a blocking key: a field's value through a transform. */
export const BlockingKey = Type.Object(
  {
    field: Type.String({ minLength: 1 }),
    transform: Type.Optional(
      Type.Union(
        [
          Type.Literal('exact'),
          Type.Literal('metaphone'),
          Type.Literal('prefix'),
          Type.Literal('suffix'),
          Type.Literal('year'),
          Type.Literal('sorted_tokens'),
          Type.Literal('first_token'),
        ],
        { description: 'default exact' },
      ),
    ),
    length: Type.Optional(Type.Integer({ minimum: 1, description: 'for prefix / suffix' })),
  },
  { additionalProperties: false },
);
export type BlockingKey = Static<typeof BlockingKey>;

export const MatchConfig = Type.Object(
  {
    fields: Type.Array(MatchField, {
      minItems: 1,
      maxItems: 31,
      description: 'at most 31 fields (`auto` keeps the 31 most telling)',
    }),
    blocking: Type.Optional(
      Type.Array(Type.Array(BlockingKey, { minItems: 1, maxItems: 8 }), {
        minItems: 1,
        maxItems: 32,
        description:
          'blocking rules, unioned: two records are compared when every key of at least one rule is equal and non-empty (default: inferred from the fields)',
      }),
    ),
    thresholds: Type.Optional(
      Type.Object(
        {
          autoMerge: Probability('match probability from which a pair is merged (default 0.9)'),
          review: Probability('match probability from which a pair goes to review (default 0.5)'),
        },
        { additionalProperties: false },
      ),
    ),
    maxBlockSize: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 100_000,
        description: 'a block with more records is skipped and reported (default 1000)',
      }),
    ),
    clustering: Type.Optional(
      Type.Object(
        {
          maxClusterSize: Type.Optional(Type.Integer({ minimum: 2, description: 'default 50' })),
          minLinkProbability: Type.Optional(
            Probability(
              'two groups join only when every compared pair between them reaches this (default: the review threshold)',
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    em: Type.Optional(
      Type.Object(
        {
          maxIterations: Type.Optional(Type.Integer({ minimum: 1, description: 'default 50' })),
          uSampleSize: Type.Optional(
            Type.Integer({ minimum: 1000, description: 'random pairs for u (default 1,000,000)' }),
          ),
          seed: Type.Optional(Type.Integer({ description: 'random seed (default 1): runs are reproducible' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'Probabilistic matching configuration (docs/identity-matching.md)' },
);
export type MatchConfig = Static<typeof MatchConfig>;

/** How one field of a pair compared: recorded as merge evidence and shown in the review queue and `/explain`. */
export const FieldComparison = Type.Object(
  {
    field: Type.String(),
    left: Type.Union([Type.String(), Type.Null()]),
    right: Type.Union([Type.String(), Type.Null()]),
    level: Type.String({ description: 'the level that held: e.g. "exact", "jaro_winkler>=0.92", "else", "missing"' }),
    weight: Type.Number({ description: 'log2 Bayes factor of this level (term-frequency adjusted)' }),
    counted: Type.Number({
      description: 'what it added to the total: its weight, or less when another field of its group said more',
    }),
    group: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type FieldComparison = Static<typeof FieldComparison>;

/** The evidence of a probabilistic match. */
export const MatchEvidence = Type.Object(
  {
    probability: Type.Number(),
    weight: Type.Number({ description: 'total log2 match weight, prior included' }),
    fields: Type.Array(FieldComparison),
  },
  { additionalProperties: true },
);
export type MatchEvidence = Static<typeof MatchEvidence>;

/** `POST /v1/identity/dedupe`: the probabilistic matcher over the store's profiles. */
export const DedupeRequest = Type.Object(
  {
    sourceId: Type.Optional(
      Type.String({ description: 'only profiles with an identifier first linked by this source (`src_…`)' }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'match and report; merge nothing, queue nothing' })),
  },
  { additionalProperties: false },
);
export type DedupeRequest = Static<typeof DedupeRequest>;

export const DedupeSummary = Type.Object(
  {
    profiles: Type.Integer({ description: 'survivors matched' }),
    candidatePairs: Type.Integer(),
    clusters: Type.Integer({ description: 'groups of two or more profiles found' }),
    merged: Type.Integer({ description: 'profiles merged away (dry run: that would be)' }),
    refused: Type.Integer({ description: 'groups an identity limit refused (their pairs went to review)' }),
    queued: Type.Integer({ description: 'review items opened (dry run: that would be)' }),
    dryRun: Type.Boolean(),
    configVersion: Type.Integer({ description: 'version of the `identity.matching` setting used (0: auto)' }),
    settingsVersion: Type.Integer({ description: 'version of the identity rules used' }),
    timings: Type.Object(
      { loading: Type.Number(), matching: Type.Number(), applying: Type.Number() },
      { description: 'milliseconds' },
    ),
    sample: Type.Array(Type.Object({ profileIds: Type.Array(Type.String()), probability: Type.Number() })),
  },
  { additionalProperties: true, description: 'What a deduplication run did' },
);
export type DedupeSummary = Static<typeof DedupeSummary>;

/** `GET` / `PUT /v1/settings/identity-matching`: the configuration `dedupe` uses (`null`: auto). */
export const MatchingSettingVersion = Type.Object(
  {
    version: Type.Integer({ description: '0: never set (auto)' }),
    config: Type.Union([MatchConfig, Type.Null()]),
    createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    createdBy: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: true },
);
export type MatchingSettingVersion = Static<typeof MatchingSettingVersion>;

/** `POST /v1/identity/rebuild`: re-resolve identities from the ingest log with the current rules. */
export const RebuildRequest = Type.Object(
  { since: Type.Optional(Type.String({ format: 'date-time', description: 'log entries received from this time' })) },
  { additionalProperties: false },
);
export type RebuildRequest = Static<typeof RebuildRequest>;

export const RebuildSummary = Type.Object(
  {
    entries: Type.Integer({ description: 'log entries read' }),
    events: Type.Integer({ description: 'events re-resolved' }),
    merged: Type.Integer({ description: 'profiles merged away because the rules now join them' }),
    linked: Type.Integer({ description: 'identifiers linked that were not' }),
    refused: Type.Integer({ description: 'joins or links the limits refused' }),
    violations: Type.Integer({ description: 'families breaking a current limit: review items opened' }),
    settingsVersion: Type.Integer({ description: 'version of the identity rules used' }),
  },
  { additionalProperties: true, description: 'What a rebuild did' },
);
export type RebuildSummary = Static<typeof RebuildSummary>;

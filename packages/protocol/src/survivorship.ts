import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, Nullable, Open, Page, PublicId } from './api.js';

/**
 * Survivorship (DESIGN §5): which observed value of a trait becomes the profile's golden value. A versioned business
 * setting (`GET` / `PUT /v1/settings/survivorship`); `docs/survivorship.md` explains the model.
 */

/** The rules, by name. `most_recent` is the default and the behaviour before any setting was written. */
export const SURVIVORSHIP_RULES = ['most_recent', 'source_priority', 'most_frequent', 'longest'] as const;
export type SurvivorshipRuleName = (typeof SURVIVORSHIP_RULES)[number];

/** Limits of a survivorship setting, checked by the server. */
export const SURVIVORSHIP_LIMITS = Object.freeze({
  /** Per-trait rules in one setting. */
  maxTraits: 1000,
  /** Characters of a trait name. */
  maxTraitName: 256,
  /** Sources named by one `source_priority` rule. */
  maxSources: 100,
});

/**
 * The rule of one trait. Every rule that is not `most_recent` breaks ties with the most recent observation (event
 * time, then processing order).
 */
export const TraitRule = Type.Union(
  [
    Type.Object(
      { rule: Type.Literal('most_recent') },
      { additionalProperties: false, description: 'the value of the latest observation (event time)' },
    ),
    Type.Object(
      {
        rule: Type.Literal('source_priority'),
        sources: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
          minItems: 1,
          maxItems: SURVIVORSHIP_LIMITS.maxSources,
          uniqueItems: true,
          description: 'source names or ids (`src_…`), most trusted first; a source not listed ranks after them all',
        }),
      },
      {
        additionalProperties: false,
        description: 'the latest non-null value of the most trusted source that observed one',
      },
    ),
    Type.Object(
      { rule: Type.Literal('most_frequent') },
      { additionalProperties: false, description: 'the non-null value observed most often' },
    ),
    Type.Object(
      { rule: Type.Literal('longest') },
      {
        additionalProperties: false,
        description: 'the longest non-empty value (strings by their trimmed length in characters)',
      },
    ),
  ],
  { description: 'a survivorship rule' },
);
export type TraitRule = Static<typeof TraitRule>;

/** A documented example of {@link SurvivorshipSettings} (also in `docs/api.md`). */
export const SURVIVORSHIP_EXAMPLE = {
  default: { rule: 'most_recent' },
  traits: {
    email: { rule: 'source_priority', sources: ['crm', 'web'] },
    plan: { rule: 'most_frequent' },
    name: { rule: 'longest' },
  },
} as const;

/** The survivorship setting: a default rule and per-trait rules (trait name → rule). */
export const SurvivorshipSettings = Type.Object(
  {
    default: TraitRule,
    traits: Type.Optional(
      Type.Record(Type.String(), TraitRule, {
        maxProperties: SURVIVORSHIP_LIMITS.maxTraits,
        description: `rules of named traits; the others follow \`default\` (at most ${SURVIVORSHIP_LIMITS.maxTraits})`,
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Body of `PUT /v1/settings/survivorship`',
    examples: [SURVIVORSHIP_EXAMPLE],
  },
);
export type SurvivorshipSettings = Static<typeof SurvivorshipSettings>;

/** One version of the survivorship setting. */
export const SurvivorshipVersion = Open(
  {
    version: Type.Integer({ minimum: 0, description: '0: the defaults, never edited; each write adds one' }),
    settings: SurvivorshipSettings,
    createdAt: Nullable(IsoTime),
    createdBy: Nullable(Type.String({ description: 'who wrote it: the API token (`tok_…`)' })),
  },
  'A version of the survivorship setting',
);
export type SurvivorshipVersion = Static<typeof SurvivorshipVersion>;

export const SurvivorshipVersionPage = Page(SurvivorshipVersion, 'Versions of the survivorship setting, newest first');
export type SurvivorshipVersionPage = Static<typeof SurvivorshipVersionPage>;

/** Where a golden value came from: the observation the trait's rule chose. */
export const TraitSource = Open(
  {
    rule: Type.Unsafe<SurvivorshipRuleName>({ type: 'string', enum: [...SURVIVORSHIP_RULES] }),
    settingsVersion: Type.Integer({ minimum: 0, description: 'the survivorship setting version applied' }),
    sourceId: PublicId('source'),
    eventId: Nullable(PublicId('event')),
    observedAt: IsoTime,
  },
  'The observation behind a trait value (`docs/survivorship.md`)',
);
export type TraitSource = Static<typeof TraitSource>;

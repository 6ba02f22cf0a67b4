import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, Open, Page } from './api.js';
import { AudienceKey, EventWindow, AUDIENCE_LIMITS as L, PropertyFilter } from './audiences.js';

/**
 * Computed traits (DESIGN §6, issue 5, `docs/audiences.md` "Computed traits"): a value per profile computed from its
 * `track` events named `event` that pass every `where` filter and fall in `window` (the audience language's rules):
 * - `count`: their number (0 when none);
 * - `sum`, `average`, `min`, `max`: over `property` where it reads as a number (sum of none: 0; the others: missing);
 * - `first`, `last`: `property` of the earliest / latest one (by time, then event id); missing when none;
 * - `most_frequent`: the string value of `property` met most often (ties: the smallest string); missing when none;
 * - `days_since`: whole days since the latest one (truncated: 1.9 days is 1); missing when none.
 * Values are computed when read (the profile API, audience evaluation, the SQL compiler): they are never stale.
 */
export const COMPUTED_TRAIT_FUNCTIONS = [
  'count',
  'sum',
  'average',
  'min',
  'max',
  'first',
  'last',
  'most_frequent',
  'days_since',
] as const;
export type ComputedTraitFunction = (typeof COMPUTED_TRAIT_FUNCTIONS)[number];

export const ComputedTraitDefinition = Type.Object(
  {
    fn: Type.Unsafe<ComputedTraitFunction>({ type: 'string', enum: [...COMPUTED_TRAIT_FUNCTIONS] }),
    event: Type.String({ minLength: 1, maxLength: L.maxNameLength, description: 'event name, exact' }),
    property: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: L.maxNameLength,
        description: 'event property (dots walk into objects); required except for count and days_since',
      }),
    ),
    where: Type.Optional(Type.Array(PropertyFilter, { maxItems: L.maxFilters, description: 'all must hold' })),
    window: Type.Optional(EventWindow),
  },
  { additionalProperties: false, description: 'A computed trait: a function over some of the profile’s events' },
);
export type ComputedTraitDefinition = Static<typeof ComputedTraitDefinition>;

/** `PUT /v1/computed-traits/{key}`. */
export const ComputedTraitInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    definition: ComputedTraitDefinition,
  },
  { additionalProperties: false },
);

export const ComputedTraitView = Open(
  {
    key: AudienceKey,
    name: Type.String(),
    definition: ComputedTraitDefinition,
    summary: Open({ en: Type.String(), fr: Type.String() }),
    updatedAt: IsoTime,
    updatedBy: Type.String(),
  },
  'A computed trait',
);
export const ComputedTraitPage = Page(ComputedTraitView, 'Computed traits by key');
export const ProfileComputedTraits = Open(
  {
    values: Type.Record(Type.String(), Type.Unknown(), {
      description: 'each computed trait’s value now (absent when missing)',
    }),
    at: IsoTime,
  },
  'The profile’s computed traits, computed now',
);

/** At most this many computed traits. */
export const MAX_COMPUTED_TRAITS = 200;

/** RFM settings (`PUT /v1/settings/rfm`): which events are purchases and which property is their amount. */
export const RfmSettings = Type.Object(
  {
    event: Type.String({ minLength: 1, maxLength: L.maxNameLength, description: 'the purchase event, exact name' }),
    amountProperty: Type.String({
      minLength: 1,
      maxLength: L.maxNameLength,
      description: 'the property holding the amount (dots walk into objects); values that read as numbers count',
    }),
    windowDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3650, description: 'purchases of the last N days only (default: all)' }),
    ),
  },
  { additionalProperties: false },
);
export type RfmSettings = Static<typeof RfmSettings>;

/** The named RFM segments, from the recency and frequency scores (docs/audiences.md, "RFM"). */
export const RFM_SEGMENTS = [
  'champions',
  'loyal',
  'potential_loyalists',
  'new_customers',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cannot_lose_them',
  'hibernating',
  'lost',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

/**
 * Computed traits every profile scored by the last RFM run has, read like other computed traits (an audience can
 * say `rfm_segment equals champions`): scores 1–5, `rfm_score` as three digits ("545"), the segment.
 */
export const RFM_TRAITS = ['rfm_r', 'rfm_f', 'rfm_m', 'rfm_score', 'rfm_segment'] as const;

export const RfmSettingsView = Open(
  {
    version: Type.Integer({ description: '0 before any is set' }),
    settings: Type.Union([RfmSettings, Type.Null()]),
    run: Type.Optional(
      Type.Union([
        Open({ profiles: Type.Integer(), settingsVersion: Type.Integer(), ms: Type.Integer() }),
        Type.Null(),
      ]),
    ),
  },
  'The RFM settings in force (and, after a PUT, the run they started)',
);

export const RfmSummary = Open(
  {
    configured: Type.Boolean(),
    computedAt: Type.Union([IsoTime, Type.Null()]),
    settingsVersion: Type.Union([Type.Integer(), Type.Null()]),
    grid: Type.Array(Open({ r: Type.Integer(), f: Type.Integer(), segment: Type.String(), profiles: Type.Integer() })),
    segments: Type.Record(Type.String(), Type.Integer()),
  },
  'The last RFM run: profiles per (recency, frequency) cell and per segment',
);

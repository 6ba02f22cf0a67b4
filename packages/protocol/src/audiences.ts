import { type Static, type TProperties, Type } from '@sinclair/typebox';

/**
 * The audience definition language (DESIGN §6, issue 5): one JSON AST, declared once here, that the incremental
 * evaluator, the SQL compiler, the API and the UI all read. Its exact semantics (missing values, coercions, window
 * bounds) are in `docs/audiences.md`; `evaluateAudience` in `packages/server/src/audiences/` is their reference.
 *
 * A definition is one condition node. Leaves test traits, computed traits, events, linked entities (accounts),
 * consents and membership of other audiences; `and` / `or` / `not` combine them. Worked example (the bench
 * definition: plan is gold, at least 2 "Order Completed" with total > 50 in the last 30 days, and not in audience X):
 *
 * ```json
 * { "type": "and", "conditions": [
 *   { "type": "trait", "key": "plan", "compare": { "op": "equals", "value": "gold" } },
 *   { "type": "event", "name": "Order Completed",
 *     "where": [{ "property": "total", "compare": { "op": "gt", "value": 50 } }],
 *     "aggregate": { "fn": "count", "compare": { "op": "gte", "value": 2 } },
 *     "window": { "last": 30, "unit": "days" } },
 *   { "type": "not", "condition": { "type": "audience", "key": "X" } }
 * ] }
 * ```
 *
 * Limits ({@link AUDIENCE_LIMITS}): arrays carry them as `maxItems`; the depth and the total number of nodes cannot be
 * said in JSON Schema, so the parser (`parseAudience`) checks them, before the schema.
 */
export const AUDIENCE_LIMITS = {
  /** Nodes on the longest path from the root to a leaf (the root alone is 1). */
  maxDepth: 8,
  /** Nodes in a definition, `and` / `or` / `not` included. */
  maxConditions: 100,
  /** Children of one `and` / `or`. */
  maxChildren: 50,
  /** Values of one `in`. */
  maxValues: 100,
  /** Property filters of one event condition, trait filters of one entity condition. */
  maxFilters: 20,
  /** Length of a string compared with. */
  maxStringLength: 1000,
  /** Length of a trait / property path or an event name. */
  maxNameLength: 200,
  /** A relative window is at most this many days long (10 years). */
  maxWindowDays: 3650,
} as const;

const L = AUDIENCE_LIMITS;

/** A trait, property or account-trait name; dots walk into nested objects (`address.city`). */
const Path = (description: string) => Type.String({ minLength: 1, maxLength: L.maxNameLength, description });

/** The key of a computed trait or an audience. */
export const AudienceKey = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$',
  description: 'letters, digits, `_` and `-`, at most 64, not starting with `_` or `-`',
});

const Text = Type.String({ maxLength: L.maxStringLength });
/** A value compared with: strings, numbers and booleans (the type picks the comparison, see `docs/audiences.md`). */
const Scalar = Type.Union([Text, Type.Number(), Type.Boolean()], { description: 'a string, number or boolean' });
/** An ordered bound: a number, or an ISO 8601 date (`2024-05-01`) or date-time with an offset (`…T10:00:00Z`). */
const Bound = Type.Union([Type.Number(), Type.String({ maxLength: 64 })], {
  description: 'a number, or an ISO 8601 date or date-time with an offset',
});

const Cmp = <O extends string, P extends TProperties = Record<never, never>>(op: O, fields?: P) =>
  Type.Object({ op: Type.Literal(op), ...(fields as P) }, { additionalProperties: false });

/**
 * A test of one value (a trait, a computed trait, an event property, an account trait). On a missing value (absent
 * or `null`) every operator is false except `not_exists`.
 */
export const Comparison = Type.Union(
  [
    Cmp('equals', { value: Scalar }),
    Cmp('not_equals', { value: Scalar }),
    Cmp('in', { values: Type.Array(Scalar, { minItems: 1, maxItems: L.maxValues }) }),
    Cmp('contains', { value: Scalar }),
    Cmp('starts_with', { value: Type.String({ minLength: 1, maxLength: L.maxStringLength }) }),
    Cmp('exists'),
    Cmp('not_exists'),
    Type.Object(
      {
        op: Type.Union([Type.Literal('gt'), Type.Literal('gte'), Type.Literal('lt'), Type.Literal('lte')]),
        value: Bound,
      },
      { additionalProperties: false },
    ),
    Cmp('between', {
      values: Type.Array(Bound, { description: 'exactly two: [low, high], both inclusive' }),
    }),
  ],
  { description: 'A test of one value' },
);
export type Comparison = Static<typeof Comparison>;
export type ComparisonOp = Comparison['op'];

/** A test of an aggregate (a count, a sum…): numbers only. */
export const NumericComparison = Type.Union(
  [
    Type.Object(
      {
        op: Type.Union([
          Type.Literal('equals'),
          Type.Literal('not_equals'),
          Type.Literal('gt'),
          Type.Literal('gte'),
          Type.Literal('lt'),
          Type.Literal('lte'),
        ]),
        value: Type.Number(),
      },
      { additionalProperties: false },
    ),
    Cmp('between', {
      values: Type.Array(Type.Number(), { description: 'exactly two: [low, high], both inclusive' }),
    }),
  ],
  { description: 'A test of a number' },
);
export type NumericComparison = Static<typeof NumericComparison>;

/** A filter on an event's properties. */
export const PropertyFilter = Type.Object(
  { property: Path('event property; dots walk into nested objects'), compare: Comparison },
  { additionalProperties: false },
);
export type PropertyFilter = Static<typeof PropertyFilter>;

/** A filter on an account's (an entity's) traits. */
export const EntityTraitFilter = Type.Object(
  { key: Path('account trait; dots walk into nested objects'), compare: Comparison },
  { additionalProperties: false },
);
export type EntityTraitFilter = Static<typeof EntityTraitFilter>;

/**
 * What is computed over the matching events and then compared: `count` (no property), or `sum` / `min` / `max` of a
 * numeric property. Absent: "at least once" (`count >= 1`).
 */
export const EventAggregate = Type.Object(
  {
    fn: Type.Union([Type.Literal('count'), Type.Literal('sum'), Type.Literal('min'), Type.Literal('max')]),
    property: Type.Optional(Path('the numeric property summed / compared (not for count)')),
    compare: NumericComparison,
  },
  { additionalProperties: false },
);
export type EventAggregate = Static<typeof EventAggregate>;

/** A fixed period: events at or after `from` and strictly before `to` (ISO 8601); either may be left open. */
export const AbsoluteWindow = Type.Object(
  {
    from: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 date or date-time, inclusive' })),
    to: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 date or date-time, exclusive' })),
  },
  { additionalProperties: false },
);
export type AbsoluteWindow = Static<typeof AbsoluteWindow>;

/** The last N units before now: events with now − N units < timestamp ≤ now. A month is 30 days, a week 7. */
export const RelativeWindow = Type.Object(
  {
    last: Type.Integer({ minimum: 1 }),
    unit: Type.Union([Type.Literal('hours'), Type.Literal('days'), Type.Literal('weeks'), Type.Literal('months')]),
  },
  { additionalProperties: false },
);
export type RelativeWindow = Static<typeof RelativeWindow>;

export const EventWindow = Type.Union([RelativeWindow, AbsoluteWindow], {
  description: '`{ last, unit }` relative to now, or `{ from, to }`',
});
export type EventWindow = Static<typeof EventWindow>;

/** A trait of the profile's golden record. */
export const TraitCondition = Type.Object(
  {
    type: Type.Literal('trait'),
    key: Path('trait; dots walk into nested objects (`address.city`)'),
    compare: Comparison,
  },
  { additionalProperties: false },
);
export type TraitCondition = Static<typeof TraitCondition>;

/** A computed trait of the profile, by key. */
export const ComputedTraitCondition = Type.Object(
  { type: Type.Literal('computed_trait'), key: AudienceKey, compare: Comparison },
  { additionalProperties: false },
);
export type ComputedTraitCondition = Static<typeof ComputedTraitCondition>;

/**
 * The profile's events named `name` that pass every `where` filter and fall in `window` (default: all time),
 * aggregated by `aggregate` (default: at least one).
 */
export const EventCondition = Type.Object(
  {
    type: Type.Literal('event'),
    name: Type.String({ minLength: 1, maxLength: L.maxNameLength, description: 'event name, exact' }),
    where: Type.Optional(Type.Array(PropertyFilter, { maxItems: L.maxFilters, description: 'all must hold' })),
    aggregate: Type.Optional(EventAggregate),
    window: Type.Optional(EventWindow),
  },
  { additionalProperties: false },
);
export type EventCondition = Static<typeof EventCondition>;

/**
 * At least one linked entity of `entity` kind passes every `where` filter (none: has at least one). Accounts (B2B,
 * from `group` calls) are the first kind; customer-defined entities will be more literals here.
 */
export const EntityCondition = Type.Object(
  {
    type: Type.Literal('entity'),
    entity: Type.Literal('account'),
    where: Type.Optional(Type.Array(EntityTraitFilter, { maxItems: L.maxFilters, description: 'all must hold' })),
  },
  { additionalProperties: false },
);
export type EntityCondition = Static<typeof EntityCondition>;

/** The profile's current consent for `purpose` is `state`. No consent recorded is neither granted nor denied. */
export const ConsentCondition = Type.Object(
  {
    type: Type.Literal('consent'),
    purpose: Type.String({ minLength: 1, maxLength: L.maxNameLength }),
    state: Type.Union([Type.Literal('granted'), Type.Literal('denied')]),
  },
  { additionalProperties: false },
);
export type ConsentCondition = Static<typeof ConsentCondition>;

/** The profile is currently a member of the audience `key`. */
export const AudienceMembershipCondition = Type.Object(
  { type: Type.Literal('audience'), key: AudienceKey },
  { additionalProperties: false },
);
export type AudienceMembershipCondition = Static<typeof AudienceMembershipCondition>;

/**
 * An audience definition: one condition node, leaves combined by `and` / `or` (1 to 50 children) and `not`. At most
 * {@link AUDIENCE_LIMITS}.maxDepth levels and maxConditions nodes (checked by the parser).
 */
export const AudienceDefinition = Type.Recursive(
  (Node) =>
    Type.Union(
      [
        TraitCondition,
        ComputedTraitCondition,
        EventCondition,
        EntityCondition,
        ConsentCondition,
        AudienceMembershipCondition,
        Type.Object(
          { type: Type.Literal('and'), conditions: Type.Array(Node, { minItems: 1, maxItems: L.maxChildren }) },
          { additionalProperties: false },
        ),
        Type.Object(
          { type: Type.Literal('or'), conditions: Type.Array(Node, { minItems: 1, maxItems: L.maxChildren }) },
          { additionalProperties: false },
        ),
        Type.Object({ type: Type.Literal('not'), condition: Node }, { additionalProperties: false }),
      ],
      { description: 'An audience condition' },
    ),
  {
    $id: 'AudienceDefinition',
    description: `An audience definition (docs/audiences.md): depth ≤ ${L.maxDepth}, ≤ ${L.maxConditions} nodes`,
  },
);
export type AudienceDefinition = Static<typeof AudienceDefinition>;
/** Any node of a definition (the same type: a definition is its root node). */
export type AudienceCondition = AudienceDefinition;
export type AndCondition = Extract<AudienceCondition, { type: 'and' }>;
export type OrCondition = Extract<AudienceCondition, { type: 'or' }>;
export type NotCondition = Extract<AudienceCondition, { type: 'not' }>;

/** The worked example of the docs and the bench (issue 5): kept here so tests, docs and bench use the same value. */
export const EXAMPLE_AUDIENCE: AudienceDefinition = {
  type: 'and',
  conditions: [
    { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } },
    {
      type: 'event',
      name: 'Order Completed',
      where: [{ property: 'total', compare: { op: 'gt', value: 50 } }],
      aggregate: { fn: 'count', compare: { op: 'gte', value: 2 } },
      window: { last: 30, unit: 'days' },
    },
    { type: 'not', condition: { type: 'audience', key: 'X' } },
  ],
};

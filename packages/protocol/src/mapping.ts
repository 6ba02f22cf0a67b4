import { type Static, Type } from '@sinclair/typebox';

/**
 * Mapping from a foreign record (a CSV row, an NDJSON line, a webhook body) to a tracking call.
 * Used by `tessera import` and by webhook sources. A worked example is in `docs/mapping.md`.
 *
 * A field reference is either a column / key name (`"Email"`), or a JSONPath starting with `$`
 * (`"$.customer.email"`), or an object with a `from`, a `const`, a `type` conversion and a `default`.
 * CSV rows are objects keyed by header, so both forms work for every format.
 */
export const FieldRef = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object(
    {
      from: Type.Optional(Type.String({ minLength: 1 })),
      const: Type.Optional(Type.Unknown()),
      type: Type.Optional(
        Type.Union([
          Type.Literal('string'),
          Type.Literal('number'),
          Type.Literal('boolean'),
          Type.Literal('date'),
          Type.Literal('json'),
        ]),
      ),
      default: Type.Optional(Type.Unknown()),
    },
    { additionalProperties: false },
  ),
]);
export type FieldRef = Static<typeof FieldRef>;

const FieldMap = Type.Record(Type.String({ minLength: 1 }), FieldRef);

export const Mapping = Type.Object(
  {
    /** Input format for files; inferred from the extension when absent. Webhooks are always JSON. */
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson'), Type.Literal('json')])),
    /** CSV options. */
    csv: Type.Optional(
      Type.Object(
        {
          delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
          quote: Type.Optional(Type.String({ maxLength: 1 })),
          encoding: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    /** For a JSON document or webhook body holding many records: a JSONPath selecting them (e.g. `$.items[*]`). */
    records: Type.Optional(Type.String({ minLength: 1 })),
    /** The call each record becomes. */
    type: Type.Union([Type.Literal('identify'), Type.Literal('track'), Type.Literal('group'), Type.Literal('page')]),
    /** Track: the event name (a FieldRef, or `{ const }` for a fixed name). */
    event: Type.Optional(FieldRef),
    /** Page: the page name. */
    name: Type.Optional(FieldRef),
    /** Group: the account id. */
    groupId: Type.Optional(FieldRef),
    /** The message id; when absent, derived from (source, file, line) for files and from the body hash for webhooks. */
    messageId: Type.Optional(FieldRef),
    /** When the record happened; defaults to the import / receive time. */
    timestamp: Type.Optional(FieldRef),
    /** Identifier type (`user_id`, `anonymous_id`, `email`, `phone`, or a configured type) → field. */
    identifiers: FieldMap,
    /** Profile traits (identify) or account traits (group). */
    traits: Type.Optional(FieldMap),
    /** Event properties (track / page). */
    properties: Type.Optional(FieldMap),
    /** Consent per purpose: purpose → field holding a boolean-like value. */
    consent: Type.Optional(FieldMap),
  },
  { additionalProperties: false },
);
export type Mapping = Static<typeof Mapping>;

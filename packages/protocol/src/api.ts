import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { ID_PREFIXES, type IdKind } from './ids.js';

/**
 * Building blocks of the management API's wire schemas (DESIGN §9, STYLE #6). Answers are open objects: a client
 * must ignore fields it does not know, and the server may add some.
 */

/** `T` or `null`. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** An instant, as the API writes it: ISO 8601 in UTC with milliseconds. */
export const IsoTime = Type.String({ format: 'date-time' });

/** A free-form JSON object (traits, properties, context, evidence…). */
export const JsonObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

/** A prefixed public id (`prof_…`, `src_…`). */
export const PublicId = (kind: IdKind) =>
  Type.String({ pattern: `^${ID_PREFIXES[kind]}_`, description: `\`${ID_PREFIXES[kind]}_\` and a UUIDv7` });

/** An open object: the listed fields, and possibly more. */
export const Open = <P extends Record<string, TSchema>>(properties: P, description?: string) =>
  Type.Object(properties, { additionalProperties: true, ...(description ? { description } : {}) });

/** A page of a list: `nextCursor` is `null` on the last page; pass it back as `?cursor=`. */
export const Page = <T extends TSchema>(item: T, description?: string) =>
  Open({ items: Type.Array(item), nextCursor: Nullable(Type.String()) }, description);

/** The body of every error answer (DESIGN §9); `docs/errors.md` documents each code. */
export const ErrorResponse = Open(
  {
    error: Open({
      code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERROR_CODES) }),
      message: Type.String(),
      requestId: Type.String(),
      /** Machine-readable specifics, e.g. `quarantined` for `no_valid_events`. */
      details: Type.Optional(Type.Unknown()),
    }),
  },
  'Error: `{"error": {"code", "message", "requestId", "details"?}}`',
);
export type ErrorResponse = Static<typeof ErrorResponse>;

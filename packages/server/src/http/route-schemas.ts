import type { SwaggerTransform } from '@fastify/swagger';
import { type TSchema, Type } from '@sinclair/typebox';
import { ErrorResponse } from '@tessera/protocol';

/**
 * Pieces shared by the route schemas (STYLE #6: one TypeBox declaration gives the validator, the type and the
 * OpenAPI entry). Query strings are not coerced (see `create-http-server.ts`): every query parameter is a string,
 * parsed by the handler (`parseLimit`, `parseTime`), which also words the error.
 */

/** Management API: `Authorization: Bearer <token>`. */
export const BEARER = [{ bearer: [] }];
/** Tracking API: the write key as Basic-auth user name (or `writeKey` in the body). */
export const WRITE_KEY = [{ writeKey: [] }];
/** Unauthenticated (scrapers, load balancers). */
export const PUBLIC: { [name: string]: string[] }[] = [];

const ERRORS = {
  400: 'Invalid request, body or JSON (`invalid_*`, `no_valid_events`, `too_deep`, `too_many_keys`)',
  401: 'No credential, or an unknown one (`unauthorized`)',
  403: 'The credential does not allow this (`forbidden`)',
  404: 'No such resource (`not_found`)',
  409: 'Conflict with the current state (`conflict`)',
  413: 'Body too large (`payload_too_large`)',
  415: 'Unsupported content type or encoding (`unsupported_media_type`)',
  429: 'Too many attempts (`rate_limited`); see `Retry-After`',
  500: 'Internal error (`internal`); the request id is in the logs',
  503: 'Backpressure or shutdown (`backpressure`, `unavailable`); see `Retry-After`',
} as const;

/** Error answers for these statuses, all `{"error": {"code", "message", "requestId", "details"?}}`. */
export function errors(...statuses: (keyof typeof ERRORS)[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, { ...ErrorResponse, description: ERRORS[s] }]));
}

/** The errors every management route may answer. */
export const MANAGEMENT_ERRORS = [400, 401, 403, 500] as const;

/**
 * Route `config` documenting a request body in OpenAPI without validating it: a `schema.body` would be enforced by
 * Ajv, but these bodies are checked by the tracking parser, the mapping parser or the handler, with their own codes.
 */
export function documentedBody(body: TSchema): { swaggerTransform: SwaggerTransform } {
  return { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body }, url }) };
}

/** `?limit=&cursor=` of a paged list (DESIGN §9). */
export const PageQuery = {
  limit: Type.Optional(Type.String({ description: 'page size, 1 to 1000 (default 50)' })),
  cursor: Type.Optional(Type.String({ description: '`nextCursor` of the previous page' })),
};

/** An instant in a query string: ISO 8601, or epoch milliseconds. */
export const TimeQuery = (description: string) =>
  Type.Optional(Type.String({ description: `${description}; ISO 8601 or epoch milliseconds` }));

/** The OpenAPI part of a management route (Bearer token): tag, summary, description, and its schemas. */
export const bearerRoute = <T extends object>(tag: string, summary: string, description: string, rest: T) => ({
  tags: [tag],
  summary,
  description,
  security: BEARER,
  ...rest,
});

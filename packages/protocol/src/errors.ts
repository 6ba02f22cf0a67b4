/**
 * The closed list of error codes Tessera answers with, and the HTTP status each one maps to.
 * Every HTTP error body is `{"error": {"code", "message", "requestId"}}` (DESIGN §9).
 * `docs/errors.md` documents each code; a test fails when one is missing there.
 */
export const ERROR_CODES = {
  invalid_json: 400,
  invalid_utf8: 400,
  invalid_body: 400,
  invalid_request: 400,
  invalid_encoding: 400,
  too_deep: 400,
  too_many_keys: 400,
  no_valid_events: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  merge_refused: 409,
  review_decided: 409,
  not_merged: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  backpressure: 503,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Reasons an individual event of an accepted request is quarantined instead of stored. */
export const QUARANTINE_CODES = [
  'schema_invalid',
  'missing_identity',
  'event_too_large',
  'too_deep',
  'too_many_keys',
  'invalid_timestamp',
  'mapping_failed',
  'processing_failed',
] as const;

export type QuarantineCode = (typeof QUARANTINE_CODES)[number];

/** The JSON body of every HTTP error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string };
}

/**
 * Parsing layer of the tracking API (DESIGN §9): pure functions, no HTTP framework and no storage.
 *
 * A request goes through them in order:
 * 1. {@link readBody} streams the body, decompressing `gzip` / `deflate`, and stops with `payload_too_large` as soon
 *    as the decompressed bytes pass the limit (500 KB per request);
 * 2. {@link parseJsonBody} decodes strict UTF-8, parses JSON and checks the whole body's depth and key count
 *    ({@link REQUEST_JSON_LIMITS}); these failures reject the request (`TesseraError`, HTTP 400 / 413 / 415);
 * 3. {@link normaliseEvent} checks each call against the per-event limits and the wire schemas, and returns a
 *    {@link LoggedEvent} with string ids, a `messageId` and a clock-skew-corrected `timestamp`, or a quarantine
 *    code and reason. A quarantined event does not fail the request; it is listed in the answer.
 */
export { checkEventSchema } from './check-event-schema.js';
export { type NormaliseContext, type NormaliseResult, normaliseEvent } from './normalise-event.js';
export { parseIsoTimestamp } from './parse-iso-timestamp.js';
export {
  isWithinEventLimits,
  type JsonLimits,
  type JsonMeasure,
  measureJson,
  parseJsonBody,
  REQUEST_JSON_LIMITS,
} from './parse-json.js';
export { type ReadBodyOptions, readBody } from './read-body.js';
export { type EventTime, type EventTimeInput, resolveEventTime } from './resolve-event-time.js';

import { EVENT_TYPES, type EventType, type QuarantineCode, TRACKING_LIMITS } from '@tessera/protocol';
import type { LoggedEvent } from '../logged-event.js';
import { checkEventSchema } from './check-event-schema.js';
import { measureJson } from './parse-json.js';
import { type EventTimeInput, resolveEventTime } from './resolve-event-time.js';

/** What {@link normaliseEvent} needs besides the call itself. */
export interface NormaliseContext {
  /** When the server received the request. */
  receivedAt: Date;
  /** `receivedAt` as ISO 8601, when the caller already has it (computed once per request, not per call). */
  receivedAtIso?: string;
  /** `sentAt` of the enclosing batch (device clock), used when the event has none. */
  sentAt?: string;
  /** `context` of the enclosing batch, merged under the event's own. */
  batchContext?: Record<string, unknown>;
  /** Type implied by a single-call endpoint (`/v1/track` → `track`). */
  typeFromPath?: EventType;
  /** Makes a `messageId` for a call that has none. */
  generateMessageId: () => string;
  /**
   * The whole request was measured within the per-event depth and key limits (see `isWithinEventLimits`), so no
   * event of it can exceed them: the per-event measure is skipped.
   */
  withinLimits?: boolean;
}

/** A call ready for the ingest log (`json`, the logged event's text), or why it is quarantined. */
export type NormaliseResult =
  | {
      ok: true;
      messageId: string;
      json: string;
      /** The logged event as an object (`json` is its text): read it, never change it. */
      event: Readonly<Record<string, unknown>>;
    }
  | { ok: false; code: QuarantineCode; reason: string; messageId: string | null };

type Rejected = Extract<NormaliseResult, { ok: false }>;

/**
 * Turns one received call into a {@link LoggedEvent}, or says why it is quarantined. Checks, in this order:
 * 1. a JSON object (`schema_invalid`) whose `type` is known; on a single-call endpoint the body's `type` may be
 *    absent but must not differ from the path (`schema_invalid`);
 * 2. the batch `context` is merged under the event's (shallow: the event's top-level keys win);
 * 3. depth ≤ `TRACKING_LIMITS.maxDepth` (`too_deep`) and keys ≤ `TRACKING_LIMITS.maxKeys` (`too_many_keys`);
 * 4. the wire schema of its type (`schema_invalid`, naming the field, never the value);
 * 5. ids: numbers become strings, `null` / blank strings are dropped; track, identify, page, screen and group need
 *    `userId` or `anonymousId`, alias needs `previousId` and `userId` (`missing_identity`);
 * 6. time fields (ISO 8601, `invalid_timestamp` naming the field), with Segment's clock-skew correction
 *    (see {@link resolveEventTime});
 * 7. the event as logged is at most `TRACKING_LIMITS.maxEventBytes` of JSON (`event_too_large`), batch context and
 *    server fields included, since that is what is stored.
 *
 * The result keeps every field the client sent except `writeKey` (a credential, never logged). It sets `type`,
 * `messageId` (a number is stringified; absent → `generateMessageId()`), `receivedAt`, the corrected `timestamp`,
 * `sentAt` (the batch's when the event has none) and `originalTimestamp` (the client's `timestamp` when it sent no
 * `originalTimestamp`, as Segment does, so the client's own time is never lost and re-normalising gives the same
 * result). `name` comes from the top-level field only, never `properties.name`. `raw` is not modified.
 */
export function normaliseEvent(raw: unknown, ctx: NormaliseContext): NormaliseResult {
  if (!isPlainObject(raw)) return reject('schema_invalid', '/: Expected object', null);
  const givenMessageId = readMessageId(raw.messageId);
  const fail = (code: QuarantineCode, reason: string): Rejected => reject(code, reason, givenMessageId);

  const type = resolveType(raw.type, ctx.typeFromPath);
  if (typeof type !== 'string') return fail('schema_invalid', type.reason);
  // The received object itself when nothing changes (a copy is most of a µs an event); `raw` is never modified.
  const mergeContext = ctx.batchContext !== undefined && (raw.context === undefined || isPlainObject(raw.context));
  const call: Record<string, unknown> = raw.type === type && !mergeContext ? raw : { ...raw, type };
  if (mergeContext) {
    call.context = { ...ctx.batchContext, ...(raw.context as Record<string, unknown> | undefined) };
  }

  if (!ctx.withinLimits) {
    const { depth, keys } = measureJson(call);
    if (depth > TRACKING_LIMITS.maxDepth) {
      return fail('too_deep', `The event is nested more than ${TRACKING_LIMITS.maxDepth} levels deep`);
    }
    if (keys > TRACKING_LIMITS.maxKeys) {
      return fail('too_many_keys', `The event has more than ${TRACKING_LIMITS.maxKeys} keys`);
    }
  }
  const schemaError = checkEventSchema(type, call);
  if (schemaError) return fail('schema_invalid', schemaError);
  for (const field of ID_FIELDS) {
    const v = call[field];
    if (typeof v === 'string' && v.includes('\u0000'))
      return fail('schema_invalid', `/${field}: must not contain U+0000`);
  }

  const userId = normaliseId(call.userId);
  const anonymousId = normaliseId(call.anonymousId);
  const groupId = normaliseId(call.groupId);
  const previousId = normaliseId(call.previousId);
  if (type === 'alias') {
    if (previousId === undefined || userId === undefined) {
      return fail('missing_identity', 'alias needs previousId and userId');
    }
  } else if (userId === undefined && anonymousId === undefined && !hasOtherIdentifier(call)) {
    return fail(
      'missing_identity',
      'userId, anonymousId, or another identifier (e-mail, phone, externalIds) is required',
    );
  }
  if (type === 'group' && groupId === undefined) return fail('schema_invalid', '/groupId: Expected a non-blank string');

  const time = resolveEventTime(call as EventTimeInput, ctx.receivedAt, ctx.sentAt);
  if (!time.ok) return fail('invalid_timestamp', `${time.field}: Expected an ISO 8601 date-time`);

  // A new object: the server's fields first (an `undefined` one is left out of the JSON), then the client's other
  // fields in their order. Adding or deleting fields on the received object instead costs a new hidden class
  // almost every time (several µs an event).
  const messageId = givenMessageId ?? ctx.generateMessageId();
  const event: Record<string, unknown> = {
    type,
    messageId,
    userId,
    anonymousId,
    timestamp: time.timestampText ?? new Date(time.timestamp).toISOString(),
    originalTimestamp: call.originalTimestamp ?? call.timestamp ?? undefined,
    sentAt: time.sentAt,
    receivedAt: ctx.receivedAtIso ?? ctx.receivedAt.toISOString(),
  };
  for (const field in call) {
    if (SERVER_FIELDS.has(field)) continue;
    const value = call[field];
    if (field === 'name' && value === null) continue;
    // A `__proto__` member of the JSON is data: assigning it would set the object's prototype instead.
    if (field === '__proto__') Object.defineProperty(event, field, { value, enumerable: true, writable: true });
    else event[field] = value;
  }
  if (type === 'group') event.groupId = groupId;
  if (type === 'alias') event.previousId = previousId;

  const json = JSON.stringify(event);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: a short text needs no count.
  const bytes = json.length * 3 <= TRACKING_LIMITS.maxEventBytes ? -1 : Buffer.byteLength(json, 'utf8');
  if (bytes > TRACKING_LIMITS.maxEventBytes) {
    return fail(
      'event_too_large',
      `The event is ${bytes} bytes of JSON; the limit is ${TRACKING_LIMITS.maxEventBytes}`,
    );
  }
  return { ok: true, messageId, json, event };
}

/** Fields the server sets (or, for `writeKey`, a credential it never logs). */
const SERVER_FIELDS = new Set([
  'type',
  'messageId',
  'userId',
  'anonymousId',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'receivedAt',
  'writeKey',
]);

/** Fields stored as text columns: PostgreSQL's text cannot hold U+0000, and an id with one is a client bug. */
const ID_FIELDS = ['messageId', 'userId', 'anonymousId', 'groupId', 'previousId', 'event', 'name'] as const;

function reject(code: QuarantineCode, reason: string, messageId: string | null): Rejected {
  return { ok: false, code, reason, messageId };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The type of the call, or why it has none: the path decides, but a body that says otherwise is an error. */
function resolveType(bodyType: unknown, typeFromPath: EventType | undefined): EventType | { reason: string } {
  const known = typeof bodyType === 'string' && (EVENT_TYPES as readonly string[]).includes(bodyType);
  if (typeFromPath) {
    if (bodyType === undefined || bodyType === null || bodyType === typeFromPath) return typeFromPath;
    const what = known ? `"${bodyType}"` : 'the type in the body';
    return { reason: `/type: ${what} does not match the endpoint /v1/${typeFromPath}` };
  }
  if (known) return bodyType as EventType;
  if (bodyType === undefined) return { reason: '/type: Expected required property' };
  return { reason: `/type: Expected one of ${EVENT_TYPES.join(', ')}` };
}

/** A messageId the schema accepts, as a string (for the answer even when the event is quarantined), else `null`. */
function readMessageId(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.length >= 1 && value.length <= 256) return value;
  return null;
}

/** Ids may come as numbers; `null` and blank strings mean "not given". */
function normaliseId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  return undefined;
}

/**
 * Whether a call without `userId` / `anonymousId` still names a person: an e-mail or phone in `traits` or
 * `context.traits`, or `context.externalIds` (imports and webhooks map identifiers there). Identity resolution
 * quarantines it later if none of them is usable.
 */
function hasOtherIdentifier(call: Record<string, unknown>): boolean {
  const context = isPlainObject(call.context) ? call.context : undefined;
  for (const traits of [call.traits, context?.traits]) {
    if (isPlainObject(traits) && (isPresent(traits.email) || isPresent(traits.phone))) return true;
  }
  return Array.isArray(context?.externalIds) && context.externalIds.length > 0;
}

function isPresent(v: unknown): boolean {
  return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v));
}

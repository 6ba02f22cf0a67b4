import { isCanonicalIso, parseIsoTimestamp } from './parse-iso-timestamp.js';

/** The time fields of one call, as the client sent them (absent or `null` both mean "not given"). */
export interface EventTimeInput {
  timestamp?: string | null;
  originalTimestamp?: string | null;
  sentAt?: string | null;
}

/**
 * The resolved event time in epoch ms, and which `sentAt` text applies (the event's own, else the batch's); or
 * the field whose timestamp could not be parsed.
 */
export type EventTime =
  | {
      ok: true;
      timestamp: number;
      /** `timestamp` as ISO 8601 (`toISOString`'s form) when the client's own text already is that; else unset. */
      timestampText?: string;
      sentAt: string | undefined;
    }
  | { ok: false; field: string };

/**
 * Resolves when an event happened, correcting the client's clock as Segment does:
 * `base = originalTimestamp ?? timestamp` and `sentAt = event.sentAt ?? batchSentAt` (both device clock); when both
 * are known the event time is `receivedAt − (sentAt − base)`, i.e. the delay between the call and its upload,
 * replayed on the server's clock. Otherwise it is `base`, or `receivedAt` when the client gave no time at all.
 *
 * Every time field the event carries must parse, even one that is not used; the batch `sentAt` (named
 * `batch sentAt` when it fails) is only checked when the event has none of its own.
 */
export function resolveEventTime(event: EventTimeInput, receivedAt: Date, batchSentAt?: string): EventTime {
  // The three fields in this order, each parsed once (this runs for every call: no loop over names, no record).
  const original = parseField(event.originalTimestamp);
  if (original === null) return { ok: false, field: 'originalTimestamp' };
  const own = parseField(event.timestamp);
  if (own === null) return { ok: false, field: 'timestamp' };
  let sentAt = parseField(event.sentAt);
  if (sentAt === null) return { ok: false, field: 'sentAt' };
  let sentAtText = event.sentAt ?? undefined;
  if (sentAt === undefined && batchSentAt !== undefined) {
    const epoch = parseIsoTimestamp(batchSentAt);
    if (epoch === null) return { ok: false, field: 'batch sentAt' };
    sentAt = epoch;
    sentAtText = batchSentAt;
  }
  const base = original ?? own;
  const received = receivedAt.getTime();
  let timestamp = base ?? received;
  // With four-digit years the result stays well inside Date's range (±273,790 years).
  if (base !== undefined && sentAt !== undefined) timestamp = received - (sentAt - base);
  const baseText = event.originalTimestamp ?? event.timestamp;
  // Unchanged by the correction and already canonical (`2024-03-01T12:00:00.000Z`): no need to format it again.
  const timestampText =
    timestamp === base && typeof baseText === 'string' && isCanonicalIso(baseText) ? baseText : undefined;
  return { ok: true, timestamp, timestampText, sentAt: sentAtText };
}

/** `undefined` when absent (or `null`), `null` when it does not parse, else epoch ms. */
function parseField(text: string | null | undefined): number | null | undefined {
  return text === undefined || text === null ? undefined : parseIsoTimestamp(text);
}

import type { LogEntry, LoggedEvent } from '../ingest/logged-event.js';

/** Payloads parsed ahead of their parse step (`lockBatch`), each handed over once. */
const ahead = new WeakMap<LogEntry, LoggedEvent>();

/**
 * Parses `entry`'s payload for a reader that only reads it (`lockBatch`), and keeps the result for the entry's parse
 * step, so that a batch parses each payload once. Throws what `JSON.parse` throws.
 */
export function parseAhead(entry: LogEntry): LoggedEvent {
  const event = ahead.get(entry) ?? (JSON.parse(entry.payload) as LoggedEvent);
  ahead.set(entry, event);
  return event;
}

/**
 * The payload of `entry` for its parse step, which owns it (later steps may change it): the one parsed ahead, given
 * out once, else a fresh parse. A batch run again (isolated after a failed fast run) parses afresh, so it never sees
 * an object the failed run's steps changed. Throws what `JSON.parse` throws.
 */
export function takePayload(entry: LogEntry): LoggedEvent {
  const event = ahead.get(entry);
  if (event === undefined) return JSON.parse(entry.payload) as LoggedEvent;
  ahead.delete(entry);
  return event;
}

import type { EventType } from '@tessera/protocol';

/**
 * An event as it is appended to the ingest log, after the tracking API accepted it: the raw call with `type`,
 * `messageId` (always a string), `receivedAt` and a skew-corrected `timestamp` (ISO 8601) set by the server, ids as
 * strings. Every other field the client sent is kept as it came ("full detail", DESIGN §1.2).
 */
export interface LoggedEvent {
  type: EventType;
  messageId: string;
  /** Skew-corrected event time, ISO 8601 UTC. */
  timestamp: string;
  /** Server receive time, ISO 8601 UTC. */
  receivedAt: string;
  originalTimestamp?: string;
  sentAt?: string;
  userId?: string;
  anonymousId?: string;
  /** track */
  event?: string;
  /** page / screen */
  name?: string;
  /** group */
  groupId?: string;
  /** alias */
  previousId?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** One append to the ingest log. */
export interface LogEntryInput {
  sourceId: string;
  messageId: string;
  /** epoch ms */
  receivedAt: number;
  /** JSON text of a `LoggedEvent`, or of the raw call when `rejection` is set. */
  payload: string;
  /** Set when the tracking API refused the call: the pipeline quarantines it with this code and reason. */
  rejection?: { code: string; reason: string } | null;
}

/** A stored ingest log entry. */
export interface LogEntry extends LogEntryInput {
  position: number;
}

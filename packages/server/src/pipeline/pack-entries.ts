import type { LogEntryInput } from '../ingest/logged-event.js';

/**
 * Log entries packed for the hop to the writer thread: two strings instead of an array of objects (structured
 * cloning of many small objects costs more than the append itself). Payloads are JSON texts, which never hold a raw
 * newline, so they are joined by one.
 */
export interface PackedEntries {
  meta: string;
  payloads: string;
}

export function packEntries(entries: readonly LogEntryInput[]): PackedEntries {
  return {
    meta: JSON.stringify(entries.map((e) => [e.sourceId, e.messageId, e.receivedAt, e.rejection ?? null])),
    payloads: entries.map((e) => e.payload).join('\n'),
  };
}

export function unpackEntries(packed: PackedEntries): LogEntryInput[] {
  const meta = JSON.parse(packed.meta) as [string, string, number, LogEntryInput['rejection']][];
  if (meta.length === 0) return [];
  const payloads = packed.payloads.split('\n');
  if (payloads.length !== meta.length) throw new Error('packed log entries are inconsistent');
  return meta.map(([sourceId, messageId, receivedAt, rejection], i) => ({
    sourceId,
    messageId,
    receivedAt,
    payload: payloads[i],
    rejection,
  }));
}

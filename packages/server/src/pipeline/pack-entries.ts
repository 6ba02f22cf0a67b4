import type { LogEntryInput } from '../ingest/logged-event.js';

/**
 * Log entries packed for the hop to the log thread (and as a JetStream message, `cluster/jetstream.ts`): two strings
 * instead of an array of objects (structured cloning of many small objects costs more than the append itself).
 * Payloads are JSON texts, which never hold a raw newline, so they are joined by one. `meta` is JSON in one of two
 * forms, both read by {@link unpackEntries}:
 * - one request's entries (one source, one receive time, none refused), the usual case:
 *   `[sourceId, receivedAt, [messageId, …]]`, about half the cost of the other form to pack and to read
 *   (docs/performance.md, session 20);
 * - any entries: `[[sourceId, messageId, receivedAt, rejection | null], …]`.
 */
export interface PackedEntries {
  meta: string;
  payloads: string;
}

export function packEntries(entries: readonly LogEntryInput[]): PackedEntries {
  return { meta: JSON.stringify(packMeta(entries)), payloads: entries.map((e) => e.payload).join('\n') };
}

function packMeta(entries: readonly LogEntryInput[]): unknown[] {
  if (entries.length > 0) {
    const { sourceId, receivedAt } = entries[0];
    const messageIds: string[] = [];
    for (const e of entries) {
      if (e.sourceId !== sourceId || e.receivedAt !== receivedAt || e.rejection) break;
      messageIds.push(e.messageId);
    }
    if (messageIds.length === entries.length) return [sourceId, receivedAt, messageIds];
  }
  return entries.map((e) => [e.sourceId, e.messageId, e.receivedAt, e.rejection ?? null]);
}

export function unpackEntries(packed: PackedEntries): LogEntryInput[] {
  const meta = JSON.parse(packed.meta) as
    | [string, number, string[]]
    | [string, string, number, LogEntryInput['rejection']][];
  if (meta.length === 0) return [];
  const payloads = packed.payloads.split('\n');
  if (typeof meta[0] === 'string') {
    const [sourceId, receivedAt, messageIds] = meta as [string, number, string[]];
    if (payloads.length !== messageIds.length) throw new Error('packed log entries are inconsistent');
    const out = new Array<LogEntryInput>(messageIds.length);
    for (let i = 0; i < messageIds.length; i++)
      out[i] = { sourceId, messageId: messageIds[i], receivedAt, payload: payloads[i], rejection: null };
    return out;
  }
  const rows = meta as [string, string, number, LogEntryInput['rejection']][];
  if (payloads.length !== rows.length) throw new Error('packed log entries are inconsistent');
  return rows.map(([sourceId, messageId, receivedAt, rejection], i) => ({
    sourceId,
    messageId,
    receivedAt,
    payload: payloads[i],
    rejection,
  }));
}

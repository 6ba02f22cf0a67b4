import type { QuarantinedItem, TrackingResponse } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { Metrics } from '../ops/metrics.js';
import type { SuppressionList } from '../privacy/suppression.js';
import type { SourceRow } from '../sources/ports.js';
import type { Storage } from '../storage/storage.js';
import type { IngestWriter } from './ingest-writer.js';
import type { LogEntryInput } from './logged-event.js';
import { type NormaliseContext, normaliseEvent } from './parse/index.js';
import type { ProcessedFilter } from './processed-filter.js';
import { createTurns } from './turns.js';

/** Calls normalised between two yields of the event loop (about 0.1 ms of work each). */
const YIELD_EVERY = 32;

/** The main thread's turns, shared by every request being normalised. */
const turns = createTurns();

export interface AcceptOptions {
  typeFromPath?: NormaliseContext['typeFromPath'];
  sentAt?: string;
  batchContext?: Record<string, unknown>;
  receivedAt?: Date;
  /** See `NormaliseContext.withinLimits`. */
  withinLimits?: boolean;
}

export interface IngestLimits {
  /** Backlog (events) above which ingest answers 503. */
  maxBacklog: number;
  /** Free disk (bytes) known right now; checked against `minFreeDisk`. */
  freeDisk: () => number;
  minFreeDisk: number;
}

/**
 * Accepts tracking calls for a source (DESIGN §3): backpressure, per-event validation (invalid ones quarantined
 * with their reasons, the rest accepted), de-duplication against the request itself and against what is already
 * processed, then one durable append. Resolves after the append committed: that is the acknowledgement.
 */
export function createIngestService(deps: {
  storage: Storage;
  writer: IngestWriter;
  metrics: Metrics;
  limits: IngestLimits;
  /** Erased identifiers: a call carrying one is acknowledged and dropped before the append (DESIGN §8). */
  suppression?: SuppressionList;
  /** Which ids may be processed already (embedded store): the others are not asked of the store. */
  processed?: ProcessedFilter;
}) {
  const { writer, metrics } = deps;
  return {
    async accept(source: SourceRow, calls: readonly unknown[], opts: AcceptOptions = {}): Promise<TrackingResponse> {
      const backlog = writer.backlog();
      if (backlog.events >= deps.limits.maxBacklog) {
        metrics.rejected.inc({ code: 'backpressure' });
        const retryAfter = Math.max(
          1,
          Math.min(60, Math.ceil(backlog.eventsPerSecond > 0 ? backlog.events / backlog.eventsPerSecond / 10 : 5)),
        );
        throw new TesseraError('backpressure', 'the pipeline is behind; retry later', { retryAfter });
      }
      if (deps.limits.freeDisk() < deps.limits.minFreeDisk) {
        metrics.rejected.inc({ code: 'disk' });
        throw new TesseraError('backpressure', 'free disk space is below the floor', { retryAfter: 60 });
      }
      const receivedAt = opts.receivedAt ?? new Date();
      const receivedAtIso = receivedAt.toISOString();
      const accepted: LogEntryInput[] = [];
      const quarantined: QuarantinedItem[] = [];
      // Refused calls are counted in `tessera_events_quarantined_total` when the pipeline quarantines them.
      const rejected: LogEntryInput[] = [];
      const inRequest = new Set<string>();
      const ticket = turns.ticket();
      let duplicates = 0;
      let suppressed = 0;
      for (const [index, raw] of calls.entries()) {
        // Let other requests (a profile look-up) in between: a large batch is a few ms of work on this thread. Before
        // the first chunk too while older requests wait for their turn: they go first.
        if (index % YIELD_EVERY === 0 && (index > 0 || turns.waiting())) await turns.next(ticket);
        const r = normaliseEvent(raw, {
          receivedAt,
          receivedAtIso,
          sentAt: opts.sentAt,
          batchContext: opts.batchContext,
          typeFromPath: opts.typeFromPath,
          generateMessageId: newUuid,
          withinLimits: opts.withinLimits,
        });
        if (deps.suppression?.matches(r.ok ? r.event : raw)) {
          suppressed++;
          continue;
        }
        if (!r.ok) {
          quarantined.push({ index, messageId: r.messageId, code: r.code, reason: r.reason });
          // Refused calls go to the log too (the raw store), marked: the pipeline quarantines them.
          rejected.push({
            sourceId: source.id,
            // An id the store cannot hold (U+0000 in PostgreSQL text) gets a fresh one: the raw call keeps the original.
            messageId: r.messageId && !r.messageId.includes('\u0000') ? r.messageId : newUuid(),
            receivedAt: receivedAt.getTime(),
            payload: safeStringify(raw),
            rejection: { code: r.code, reason: r.reason },
          });
          continue;
        }
        if (inRequest.has(r.messageId)) {
          duplicates++;
          continue;
        }
        inRequest.add(r.messageId);
        accepted.push({
          sourceId: source.id,
          messageId: r.messageId,
          receivedAt: receivedAt.getTime(),
          payload: r.json,
        });
      }
      if (accepted.length > 0) {
        // An early answer for duplicates; the pipeline de-duplicates anyway, so a store that cannot be read (a
        // cluster api node while PostgreSQL is down) does not stop ingest.
        const ids = accepted.map((e) => e.messageId);
        const ask = deps.processed?.maybeProcessed(source.id, ids) ?? ids;
        const done =
          ask.length === 0
            ? new Set<string>()
            : await deps.storage.processed.existing(source.id, ask).catch(() => new Set<string>());
        if (done.size > 0) {
          duplicates += done.size;
          for (let i = accepted.length - 1; i >= 0; i--) if (done.has(accepted[i].messageId)) accepted.splice(i, 1);
        }
      }
      // Before the append: the pipeline may process a key as soon as it is in the log.
      deps.processed?.add(
        source.id,
        [...accepted, ...rejected].map((e) => e.messageId),
      );
      if (accepted.length === 0 && quarantined.length > 0 && duplicates === 0) {
        await writer.append({ log: rejected });
        throw new TesseraError('no_valid_events', `no valid event in the request (${quarantined.length} quarantined)`, {
          details: { quarantined },
        });
      }
      if (accepted.length > 0 || rejected.length > 0) await writer.append({ log: [...accepted, ...rejected] });
      metrics.received.inc({ source: source.name }, accepted.length);
      if (duplicates > 0) metrics.duplicates.inc(duplicates);
      if (suppressed > 0) metrics.suppressed.inc({ where: 'ingest' }, suppressed);
      // A suppressed call is acknowledged like any other: the sender learns nothing of the erasure.
      return { success: true, accepted: accepted.length + suppressed, duplicates, quarantined };
    },
  };
}

/** The raw call as stored in quarantine, without its `writeKey` (a credential is never stored in clear). */
function safeStringify(raw: unknown): string {
  try {
    return JSON.stringify(raw, (key, value) => (key === 'writeKey' ? undefined : value)) ?? 'null';
  } catch {
    return 'null';
  }
}

export type IngestService = ReturnType<typeof createIngestService>;

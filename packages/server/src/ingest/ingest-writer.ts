import type { AppendRequest, AppendResult } from './group-commit.js';

/** Backlog of the pipeline as the writer sees it. */
export interface BacklogState {
  /** Appended and not yet processed. */
  events: number;
  /** Age of the oldest unprocessed entry (s). */
  lagSeconds: number;
  /** Measured pipeline throughput (events/s, moving average; 0 before the first measurement). */
  eventsPerSecond: number;
  /** Highest log position appended, and the pipeline's committed offset, as this writer knows them. */
  appended: number;
  processed: number;
}

/**
 * Where the ingest API writes: the ingest log and ingest-time quarantine, group-committed and durable when the
 * promise resolves. Embedded mode runs it on the writer thread (or in-process for tests); cluster mode publishes
 * to JetStream.
 */
export interface IngestWriter {
  append(req: AppendRequest): Promise<AppendResult>;
  backlog(): BacklogState;
  /** False once the writer can no longer append (its thread died, NATS is unreachable): `/healthz` answers 503. */
  alive(): boolean;
  /**
   * Ingest goes on while the store is down (a cluster api node): `/healthz` then does not check the store, so a
   * load balancer keeps the node while PostgreSQL restarts.
   */
  readonly independentOfStore?: boolean;
}

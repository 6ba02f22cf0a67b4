import type { MessagePort } from 'node:worker_threads';
import type { AuditEntry } from '../auth/ports.js';
import type { AppendResult } from '../ingest/group-commit.js';
import type { BacklogState } from '../ingest/ingest-writer.js';
import type { PackedEntries } from './pack-entries.js';
import type { BatchOutcome } from './process-batch.js';

/** What the main thread gives the writer thread at start. */
export interface WriterData {
  file: string;
  durability: 'normal' | 'full';
  batchSize: number;
  logLevel: string;
  /** Start the pipeline loop (false: only `drain` runs it). */
  runPipeline: boolean;
  /** Start the destination router and delivery loops (false: only `drain` runs them). */
  runActivation: boolean;
  /** Run the scheduler's jobs (audience re-checks, RFM, retention…), whose writes take turns with the batches. */
  runScheduler: boolean;
  /** Where file destinations may write. */
  exportDir: string;
  /** The instance secret (suppression hashes), or where `instance.key` is. */
  instanceSecret: string | undefined;
  dataDir: string;
  /** A port to the log thread, which sends the log's last position after each commit. */
  log: MessagePort;
  /**
   * The thread's nice value on Linux (0 to 19, `TESSERA_PIPELINE_NICE`): above 0, under a load that takes every
   * core, the main and log threads, which acknowledge ingest, go first, and the pipeline catches up after.
   */
  nice: number;
}

/** What the main thread gives the log thread at start. */
export interface LogData {
  file: string;
  durability: 'normal' | 'full';
  /** A port to the writer thread, sent the log's last position after each commit (it wakes the pipeline). */
  pipeline: MessagePort;
}

/** Main → log thread. Its answers are `FromWriter` messages (`ready`, then a `reply` per call). */
export type ToLog = { op: 'append'; id: number; log: PackedEntries } | { op: 'stop'; id: number };

/** Main → writer. */
export type ToWriter =
  | { op: 'drain'; id: number }
  | { op: 'stop'; id: number }
  /** The destinations changed (reload them), a destination has messages due now (wake), or route and deliver all. */
  | { op: 'destinations-changed'; id: number }
  | { op: 'wake-destination'; id: number; destinationId: string }
  | { op: 'drain-activation'; id: number }
  | { op: 'scrub-exports'; id: number; values: string[] }
  /** Audit entries to commit (the main thread's writes would make the pipeline's next batch retry). */
  | { op: 'audit'; id: number; rows: AuditEntry[] };

/** Writer → main. */
export type FromWriter =
  | {
      op: 'ready';
      backlog: BacklogState;
      /** The thread's Linux thread id (CPU by thread in `/metrics`). */
      tid?: number;
    }
  | { op: 'batch'; outcome: BatchOutcome; backlog: BacklogState }
  | { op: 'reply'; id: number; ok: true; result: AppendResult | { files: number; lines: number } | undefined }
  | { op: 'reply'; id: number; ok: false; error: { name: string; message: string } };

/** Answers call `id` on `port` once `work` settles: its result, or its error's name and message. */
export function replyWhenSettled(port: MessagePort, id: number, work: Promise<unknown>): void {
  work.then(
    (result) => port.postMessage({ op: 'reply', id, ok: true, result }),
    (e: Error) =>
      port.postMessage({
        op: 'reply',
        id,
        ok: false,
        error: { name: e.name, message: e.message },
      } satisfies FromWriter),
  );
}

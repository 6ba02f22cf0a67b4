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
}

/** Main → writer. */
export type ToWriter =
  | { op: 'append'; id: number; log: PackedEntries }
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
  | { op: 'ready'; backlog: BacklogState }
  | { op: 'batch'; outcome: BatchOutcome; backlog: BacklogState }
  | { op: 'reply'; id: number; ok: true; result: AppendResult | { files: number; lines: number } | undefined }
  | { op: 'reply'; id: number; ok: false; error: { name: string; message: string } };

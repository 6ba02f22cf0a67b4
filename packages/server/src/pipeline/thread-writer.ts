import { Worker } from 'node:worker_threads';
import type { AuditAppend } from '../auth/audit-log.js';
import type { AuditEntry } from '../auth/ports.js';
import type { ActivationControl } from '../destinations/activation.js';
import { TesseraError } from '../errors.js';
import type { AppendResult } from '../ingest/group-commit.js';
import type { BacklogState, IngestWriter } from '../ingest/ingest-writer.js';
import type { Logger } from '../logger.js';
import { startCheckpointer } from '../storage/sqlite/checkpointer.js';
import { logFileOf } from '../storage/sqlite/create-sqlite-storage.js';
import { type PackedEntries, packEntries } from './pack-entries.js';
import type { PipelineRunner } from './pipeline-runner.js';
import type { BatchOutcome } from './process-batch.js';
import type { FromWriter, ToWriter, WriterData } from './writer-protocol.js';

/**
 * Main-thread side of the writer thread: an `IngestWriter` whose appends are committed by the writer thread, and a
 * `PipelineRunner` that controls the pipeline running there. If the thread dies, pending and later appends fail
 * with 503 `unavailable` (never a 200) and the error is logged.
 */
export async function startWriterThread(
  data: WriterData,
  logger: Logger,
  onBatch: (outcome: BatchOutcome) => void,
): Promise<{
  writer: IngestWriter;
  runner: PipelineRunner;
  activation: ActivationControl;
  /** Commits audit entries in the thread, between the pipeline's batches. */
  appendAudit: AuditAppend;
}> {
  const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: data });
  // Every connection to the store leaves checkpoints to this thread (`externalCheckpoints`).
  const checkpointer = startCheckpointer(
    { files: [data.file, logFileOf(data.file)], durability: data.durability, intervalMs: 500 },
    logger,
  );
  let seq = 0;
  let dead: Error | undefined;
  let backlog: BacklogState = { events: 0, lagSeconds: 0, eventsPerSecond: 0, appended: 0, processed: 0 };
  let appended = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  type Call =
    | { op: 'append'; log: PackedEntries }
    | { op: 'drain' }
    | { op: 'stop' }
    | { op: 'destinations-changed' }
    | { op: 'wake-destination'; destinationId: string }
    | { op: 'drain-activation' }
    | { op: 'scrub-exports'; values: string[] }
    | { op: 'audit'; rows: AuditEntry[] };
  const call = <T>(msg: Call): Promise<T> => {
    if (dead) return Promise.reject(stopped());
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...msg, id } as ToWriter);
    });
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (msg: FromWriter) => {
      if (msg.op === 'ready') {
        backlog = msg.backlog;
        resolve();
      } else if (msg.op === 'batch') {
        backlog = msg.backlog;
        onBatch(msg.outcome);
      } else {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }));
      }
    });
    /** The thread is gone: what waits for it, and all that comes later, answers 503 (never a 200). */
    const fail = (e: Error) => {
      dead ??= e;
      for (const p of pending.values()) p.reject(stopped());
      pending.clear();
    };
    worker.once('error', (e) => {
      logger.error({ err: { name: e.name, message: e.message } }, 'writer thread failed');
      fail(e);
      reject(e);
    });
    worker.once('exit', () => fail(new Error('writer thread exited')));
  });
  try {
    await ready;
  } catch (e) {
    await checkpointer.stop();
    throw e;
  }
  const writer: IngestWriter = {
    async append(req) {
      const result = await call<AppendResult>({ op: 'append', log: packEntries(req.log) });
      appended = Math.max(appended, result.lastPosition);
      return result;
    },
    alive: () => dead === undefined,
    backlog() {
      // The thread's last report, with what was appended since.
      const last = Math.max(appended, backlog.appended);
      return { ...backlog, appended: last, events: Math.max(0, last - backlog.processed) };
    },
  };
  const runner: PipelineRunner = {
    start() {},
    notify() {},
    drain: () => call<void>({ op: 'drain' }),
    async stop() {
      try {
        if (!dead) await call<void>({ op: 'stop' });
        await worker.terminate();
      } finally {
        await checkpointer.stop();
      }
    },
  };
  // The router and delivery loops run in the thread (they stop with it).
  const activation: ActivationControl = {
    async start() {},
    notify() {},
    wake: (destinationId) => void call<void>({ op: 'wake-destination', destinationId }).catch(() => {}),
    refresh: () => call<void>({ op: 'destinations-changed' }),
    drain: () => call<void>({ op: 'drain-activation' }),
    scrubExports: (values) => call<{ files: number; lines: number }>({ op: 'scrub-exports', values: [...values] }),
    async stop() {},
  };
  const appendAudit: AuditAppend = (rows) => call<void>({ op: 'audit', rows });
  return { writer, runner, activation, appendAudit };
}

function stopped(): TesseraError {
  return new TesseraError('unavailable', 'the writer thread stopped', { retryAfter: 5 });
}

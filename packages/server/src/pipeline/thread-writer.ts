import { MessageChannel, Worker } from 'node:worker_threads';
import type { AuditAppend } from '../auth/audit-log.js';
import type { AuditEntry } from '../auth/ports.js';
import type { ActivationControl } from '../destinations/activation.js';
import { TesseraError } from '../errors.js';
import type { AppendResult } from '../ingest/group-commit.js';
import type { BacklogState, IngestWriter } from '../ingest/ingest-writer.js';
import { errorFields, type Logger } from '../logger.js';
import { startCheckpointer } from '../storage/sqlite/checkpointer.js';
import { logFileOf } from '../storage/sqlite/create-sqlite-storage.js';
import { packEntries } from './pack-entries.js';
import { idleGuard, type PipelinePolicy } from './pipeline-policy.js';
import type { PipelineRunner } from './pipeline-runner.js';
import type { BatchOutcome } from './process-batch.js';
import type { FromWriter, LogData, ToLog, ToWriter, WriterData } from './writer-protocol.js';

/**
 * The writer thread's young generation: its new space grows to 64 MB instead of V8's default 32 MB. A batch's objects
 * (parsed payloads, rows, changes) live for the whole batch, across several scavenges at the default, and each copies them:
 * 434 to 475 scavenges, 2.1 to 2.4 s, in the ingest bench's load and drain. At 128 MB: 111 to 134 scavenges, 0.84 to
 * 0.88 s, the drain 11 to 16 % faster, for 50 to 150 MB more resident memory (docs/performance.md).
 */
export const WRITER_YOUNG_GENERATION_MB = 128;

/** A call to a thread, without the id `threadCalls` gives it. */
type CallOf<T> = T extends { id: number } ? Omit<T, 'id'> : never;

/**
 * Main-thread side of the embedded threads: an `IngestWriter` whose appends are committed by the log thread
 * (`log-thread.ts`), and a `PipelineRunner` that controls the pipeline running in the writer thread
 * (`writer-thread.ts`). If either thread dies, pending and later appends fail with 503 `unavailable` (never a 200)
 * and the error is logged.
 */
export async function startWriterThread(
  data: Omit<WriterData, 'log'>,
  logger: Logger,
  onBatch: (outcome: BatchOutcome) => void,
  /** Where each thread's Linux thread id goes, by name (`writer`, `log`, `checkpointer`), for CPU by thread. */
  threadIds?: Map<string, number>,
  /** The writer thread's scheduling policy (`idle`: with a guard against starving, see `pipeline-policy.ts`). */
  policy: PipelinePolicy = 'normal',
): Promise<{
  writer: IngestWriter;
  runner: PipelineRunner;
  activation: ActivationControl;
  /** Commits audit entries in the thread, between the pipeline's batches. */
  appendAudit: AuditAppend;
}> {
  // The log thread tells the writer thread of its commits over a channel of their own.
  const channel = new MessageChannel();
  // Every connection to the store leaves checkpoints to this thread (`externalCheckpoints`).
  const checkpointer = startCheckpointer(
    { files: [data.file, logFileOf(data.file)], durability: data.durability, intervalMs: 500 },
    logger,
    (tid) => threadIds?.set('checkpointer', tid),
  );
  let dead: Error | undefined;
  let backlog: BacklogState = { events: 0, lagSeconds: 0, eventsPerSecond: 0, appended: 0, processed: 0 };
  let appended = 0;
  let writerTid: number | undefined;
  const fail = (e: Error) => {
    dead ??= e;
    for (const t of threads) t.failAll();
  };
  const pipelineThread = threadCalls<ToWriter>(
    new Worker(new URL('./writer-thread.js', import.meta.url), {
      workerData: { ...data, log: channel.port1 } satisfies WriterData,
      transferList: [channel.port1],
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    }),
    'writer',
    (msg) => {
      backlog = msg.backlog;
      if (msg.op === 'batch') onBatch(msg.outcome);
      else writerTid = msg.tid;
    },
  );
  const logThread = threadCalls<ToLog>(
    new Worker(new URL('./log-thread.js', import.meta.url), {
      workerData: { file: data.file, durability: data.durability, pipeline: channel.port2 } satisfies LogData,
      transferList: [channel.port2],
    }),
    'log',
    () => {},
  );
  const threads = [pipelineThread, logThread];
  function threadCalls<T extends { id: number }>(
    worker: Worker,
    name: string,
    onNotice: (msg: Extract<FromWriter, { op: 'ready' | 'batch' }>) => void,
  ) {
    let seq = 0;
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: FromWriter) => {
        if (msg.op === 'ready' || msg.op === 'batch') {
          onNotice(msg);
          if (msg.op === 'ready') {
            if (msg.tid !== undefined) threadIds?.set(name, msg.tid);
            resolve();
          }
          return;
        }
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }));
      });
      // The thread is gone: what waits for it, and all that comes later, answers 503 (never a 200).
      worker.once('error', (e) => {
        logger.error({ err: errorFields(e) }, `${name} thread failed`);
        fail(e);
        reject(e);
      });
      worker.once('exit', () => {
        fail(new Error(`${name} thread exited`));
        reject(new Error(`${name} thread exited`));
      });
    });
    return {
      worker,
      ready,
      call<R>(msg: CallOf<T>): Promise<R> {
        if (dead) return Promise.reject(stopped());
        const id = ++seq;
        return new Promise<R>((resolve, reject) => {
          pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
          worker.postMessage({ ...msg, id });
        });
      },
      /** Calls sent and not answered yet. */
      waiting: () => pending.size,
      failAll() {
        for (const p of pending.values()) p.reject(stopped());
        pending.clear();
      },
    };
  }
  try {
    await Promise.all(threads.map((t) => t.ready));
  } catch (e) {
    await Promise.all(threads.map((t) => t.worker.terminate()));
    await checkpointer.stop();
    throw e;
  }
  const call = pipelineThread.call;
  let guardTimer: NodeJS.Timeout | undefined;
  const writer: IngestWriter = {
    async append(req) {
      const result = await logThread.call<AppendResult>({ op: 'append', log: packEntries(req.log) });
      appended = Math.max(appended, result.lastPosition);
      return result;
    },
    alive: () => dead === undefined,
    backlog() {
      // The writer thread's last report, with what was appended since.
      const last = Math.max(appended, backlog.appended);
      return { ...backlog, appended: last, events: Math.max(0, last - backlog.processed) };
    },
  };
  if (policy === 'idle' && writerTid === undefined)
    logger.warn('TESSERA_PIPELINE_POLICY=idle needs Linux: the pipeline thread keeps the normal policy');
  else if (policy === 'idle' && writerTid !== undefined) {
    const guard = idleGuard({
      tid: writerTid,
      logger,
      pending: () => writer.backlog().events > 0 || pipelineThread.waiting() > 0,
    });
    await guard.start();
    guardTimer = setInterval(() => guard.check(), 1000).unref();
  }
  const runner: PipelineRunner = {
    start() {},
    notify() {},
    drain: () => call<void>({ op: 'drain' }),
    async stop() {
      clearInterval(guardTimer);
      try {
        // The log thread first: the appends still in flight commit, then the last batches run.
        if (!dead) await logThread.call<void>({ op: 'stop' });
        if (!dead) await call<void>({ op: 'stop' });
        await Promise.all(threads.map((t) => t.worker.terminate()));
      } finally {
        await checkpointer.stop();
      }
    },
  };
  // The router and delivery loops run in the writer thread (they stop with it).
  const activation: ActivationControl = {
    async start() {},
    notify() {},
    wake: (destinationId) => void call<void>({ op: 'wake-destination', destinationId }).catch(() => {}),
    refresh: () => call<void>({ op: 'destinations-changed' }),
    drain: () => call<void>({ op: 'drain-activation' }),
    scrubExports: (values) => call<{ files: number; lines: number }>({ op: 'scrub-exports', values: [...values] }),
    async stop() {},
  };
  const appendAudit: AuditAppend = (rows: AuditEntry[]) => call<void>({ op: 'audit', rows });
  return { writer, runner, activation, appendAudit };
}

function stopped(): TesseraError {
  return new TesseraError('unavailable', 'the writer thread stopped', { retryAfter: 5 });
}

import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { commitAuditEntries } from '../auth/audit-log.js';
import { recentChanges } from '../bus/recent-changes.js';
import { createActivation } from '../destinations/activation.js';
import { createDestinationCatalog } from '../destinations/catalog.js';
import { createTableChangeFeed } from '../destinations/change-feed.js';
import { builtinDestinations } from '../destinations/plugins/index.js';
import { createDestinationRegistry } from '../destinations/registry.js';
import { createProcessedFilter } from '../ingest/processed-filter.js';
import { createLogger } from '../logger.js';
import { currentThreadId } from '../ops/thread-cpu.js';
import { instanceSecret } from '../privacy/instance-secret.js';
import { createScheduler } from '../scheduler/scheduler.js';
import { createSqliteStorage, logFileOf } from '../storage/sqlite/create-sqlite-storage.js';
import { createEmbeddedPipeline } from './embedded-pipeline.js';
import { ingestFirst } from './ingest-first.js';
import { PIPELINE_CONSUMER } from './process-batch.js';
import { pipelineSteps } from './steps/index.js';
import { replyWhenSettled, type ToWriter, type WriterData } from './writer-protocol.js';

/**
 * The embedded writer thread (DESIGN §2): owns the write connection of the SQLite store's main file and runs the
 * pipeline over the log that the log thread appends to (`log-thread.ts`), so the main thread's reads and HTTP never
 * wait on a commit. It also runs the destination router and delivery loops (docs/destinations.md): their claims and
 * settlements are writes, which here take turns with the pipeline's batches on one connection instead of contending
 * with them for SQLite's lock; so do the audit log's group commits and the scheduler's jobs.
 */
const data = workerData as WriterData;
const port = parentPort;
if (!port) throw new Error('writer-thread must run as a worker');
// On Linux a thread's nice value is its own (setpriority on 0 is this thread); elsewhere it is the process's.
if (data.nice > 0 && process.platform === 'linux') os.setPriority(0, data.nice);
const logger = createLogger(data.logLevel);
const storage = createSqliteStorage({ file: data.file, durability: data.durability, externalCheckpoints: true });
const catalog = createDestinationCatalog(
  storage,
  createDestinationRegistry(builtinDestinations(data.exportDir)),
  logger,
);
// The router reads the batches' changes from memory instead of reading back the rows just written
// (docs/performance.md); a gap (a change published by the main thread's connection) sends it to the table.
const recent = recentChanges();
const activation = createActivation({
  storage,
  catalog,
  feed: await createTableChangeFeed(storage, 'destinations', recent),
  logger,
  exportDir: data.exportDir,
});
// While ingest saturates the cores, the pipeline gives them to the threads that acknowledge it (ingest-first.ts).
const pause = ingestFirst(data.batchSize);
// The batches' de-dup look-ups ask the store only about the ids a filter of the processed keys may hold: a random
// message id (the SDKs' uuid v4) is otherwise a B-tree descent on a page of its own (docs/performance.md, session 21).
// The filter is this thread's own: the main thread's also holds every key appended, which a batch's keys all are.
const keys = createProcessedFilter(
  { mainFile: data.file, logFile: logFileOf(data.file), consumer: PIPELINE_CONSUMER },
  logger,
);
const { writer, runner } = await createEmbeddedPipeline(storage, {
  batchSize: data.batchSize,
  pause,
  keys,
  logger,
  steps: pipelineSteps(instanceSecret({ secret: data.instanceSecret, dataDir: data.dataDir })),
  recent,
  onBatch: (outcome) => {
    activation.notify();
    port.postMessage({ op: 'batch', outcome, backlog: writer.backlog() });
  },
});

// The scheduler's jobs write (audience re-checks every second when due): from the main thread's connection, each
// commit would make the pipeline's next batch retry its snapshot, as the audit log's did (docs/performance.md).
const scheduler = data.runScheduler ? createScheduler({ storage, logger }) : undefined;

const reply = (id: number, work: Promise<unknown>) => replyWhenSettled(port, id, work);

port.on('message', (msg: ToWriter) => {
  switch (msg.op) {
    case 'drain':
      return reply(msg.id, runner.drain());
    case 'destinations-changed':
      return reply(msg.id, catalog.refresh());
    case 'wake-destination':
      activation.wake(msg.destinationId);
      return reply(msg.id, Promise.resolve());
    case 'drain-activation':
      return reply(msg.id, activation.drain());
    case 'scrub-exports':
      return reply(msg.id, activation.scrubExports(msg.values));
    case 'audit':
      return reply(msg.id, commitAuditEntries(storage, msg.rows));
    case 'stop':
      return reply(
        msg.id,
        (async () => {
          await scheduler?.stop();
          await runner.stop();
          await keys.stop();
          await activation.stop();
          await storage.close();
        })(),
      );
  }
});
// The log thread appends; each of its commits wakes the pipeline, with the log's last position.
data.log.on('message', (last: number) => {
  pause.appended(last);
  runner.notify();
});
if (data.runPipeline) runner.start();
scheduler?.start();
if (data.runActivation) await activation.start();
port.postMessage({ op: 'ready', backlog: writer.backlog(), tid: currentThreadId() });

import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { createLocalIngestWriter } from '../ingest/local-ingest-writer.js';
import { currentThreadId } from '../ops/thread-cpu.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import { unpackEntries } from './pack-entries.js';
import { PIPELINE_CONSUMER } from './process-batch.js';
import { type LogData, replyWhenSettled, type ToLog } from './writer-protocol.js';

/**
 * The embedded log thread (docs/architecture.md, threads and databases): group-commits the tracking API's appends to
 * the log file, and tells the writer thread (`data.pipeline`, a port to it) that entries were appended, with the log's
 * last position. A thread of its own, so that an acknowledgement never waits for a pipeline batch (10 to 50 ms) to
 * finish: the log file has its own write lock, so the two threads never wait for each other either.
 */
const data = workerData as LogData;
const port = parentPort;
if (!port) throw new Error('log-thread must run as a worker');
const pipeline: MessagePort = data.pipeline;
const storage = createSqliteStorage({ file: data.file, durability: data.durability, externalCheckpoints: true });
const writer = await createLocalIngestWriter(storage, PIPELINE_CONSUMER, (last) => pipeline.postMessage(last));

const inFlight = new Set<Promise<unknown>>();

port.on('message', (msg: ToLog) => {
  let work: Promise<unknown>;
  if (msg.op === 'append') {
    const append = writer.append({ log: unpackEntries(msg.log) });
    inFlight.add(append);
    work = append.finally(() => inFlight.delete(append));
  } else
    work = (async () => {
      // The HTTP server is closed by now: the appends it is still waiting for commit first.
      await Promise.allSettled(inFlight);
      await storage.close();
      pipeline.close();
    })();
  replyWhenSettled(port, msg.id, work);
});
port.postMessage({ op: 'ready', backlog: writer.backlog(), tid: currentThreadId() });

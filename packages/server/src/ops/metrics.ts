import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { currentThreadId, threadCpuSplit, threadWaitSplit } from './thread-cpu.js';

/**
 * The Prometheus metrics of one app (its own registry: two apps in one process do not share counters).
 * Names are binding (DESIGN §9).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_process_' });
  const received = new Counter({
    name: 'tessera_events_received_total',
    help: 'Events accepted into the ingest log',
    labelNames: ['source'],
    registers: [registry],
  });
  const stored = new Counter({
    name: 'tessera_events_stored_total',
    help: 'Events processed and stored',
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'tessera_events_duplicate_total',
    help: 'Events ignored as duplicates (ingest and pipeline)',
    registers: [registry],
  });
  const quarantined = new Counter({
    name: 'tessera_events_quarantined_total',
    help: 'Events quarantined',
    labelNames: ['code'],
    registers: [registry],
  });
  const merges = new Counter({ name: 'tessera_merges_total', help: 'Profile merges', registers: [registry] });
  const backlogEvents = new Gauge({
    name: 'tessera_pipeline_backlog_events',
    help: 'Events in the ingest log not yet processed',
    registers: [registry],
  });
  const lagSeconds = new Gauge({
    name: 'tessera_pipeline_lag_seconds',
    help: 'Age of the oldest unprocessed event',
    registers: [registry],
  });
  const backlogSeconds = new Gauge({
    name: 'tessera_pipeline_backlog_seconds',
    help: 'Backlog divided by measured pipeline throughput',
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'tessera_pipeline_batch_seconds',
    help: 'Wall-clock time of a pipeline batch, from reading the log to the commit',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const phaseSeconds = new Histogram({
    name: 'tessera_pipeline_phase_seconds',
    help: 'Time of a pipeline batch by phase: read, steps, write, audiences, outbox, commit',
    labelNames: ['phase'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const suppressed = new Counter({
    name: 'tessera_events_suppressed_total',
    help: 'Calls dropped because they carry an erased identifier (the suppression list), at ingest or in the pipeline',
    labelNames: ['where'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'tessera_ingest_rejected_total',
    help: 'Tracking requests refused',
    labelNames: ['code'],
    registers: [registry],
  });
  /** The server's threads by name (`main`, and `log`, `writer`, `checkpointer` once they report in). */
  const threads = new Map<string, number>();
  const main = currentThreadId();
  if (main !== undefined) threads.set('main', main);
  new Gauge({
    name: 'tessera_thread_cpu_seconds',
    help:
      'CPU time used since start by each thread of the server (user + system; Linux): main (HTTP), log (appends), ' +
      'writer (pipeline, deliveries), checkpointer, and other (garbage collection, compiler, I/O pool)',
    labelNames: ['thread'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [thread, seconds] of threadCpuSplit(threads)) this.set({ thread }, seconds);
    },
  });
  new Gauge({
    name: 'tessera_thread_wait_seconds',
    help:
      'Time each named thread of the server spent ready to run but waiting for a CPU since start (the run-queue ' +
      'delay; Linux schedstat): a main thread that waits answers late although the server is not slow',
    labelNames: ['thread'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [thread, seconds] of threadWaitSplit(threads)) this.set({ thread }, seconds);
    },
  });
  return {
    registry,
    threads,
    received,
    stored,
    duplicates,
    quarantined,
    suppressed,
    merges,
    backlogEvents,
    lagSeconds,
    backlogSeconds,
    batchSeconds,
    phaseSeconds,
    rejected,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

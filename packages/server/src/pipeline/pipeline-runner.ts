import type { RecentChanges } from '../bus/recent-changes.js';
import type { ProcessedKeys } from '../ingest/processed-filter.js';
import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { wakeableSleep } from '../wakeable-sleep.js';
import type { BatchPause } from './ingest-first.js';
import { type BatchOutcome, IsolateBatch, processBatch } from './process-batch.js';
import { RetryBatch } from './run-steps.js';
import type { Step } from './step.js';

export interface PipelineRunner {
  /** Starts the loop (idempotent). */
  start(): void;
  /** Wakes the loop: new entries were appended. */
  notify(): void;
  /** Processes until the log is drained (tests, `import`); rejects on a persistent failure. */
  drain(): Promise<void>;
  /** Finishes the in-flight batch, then stops. */
  stop(): Promise<void>;
}

export interface PipelineRunnerOptions {
  storage: Storage;
  steps: readonly Step[];
  batchSize: number;
  logger: Logger;
  onBatch?: (outcome: BatchOutcome) => void;
  /** Called with each batch and how long it took (ms), for throughput. */
  timed?: (outcome: BatchOutcome, ms: number) => void;
  /** Poll interval when idle and not notified (another process may append). */
  idleMs?: number;
  /** Where each batch's committed changes go, for a consumer in this thread (the destination router). */
  recent?: RecentChanges;
  /** A pause between batches of the running loop (the writer thread's `ingestFirst`); none by default. */
  pause?: BatchPause;
  /** A filter of the processed keys, so batches look up only the ids it may hold (the writer thread's). */
  keys?: ProcessedKeys;
}

/**
 * The one loop that runs the pipeline: a batch at a time, woken by `notify` or a poll, with exponential backoff
 * (up to 5 s) after a failed batch. Batches are serial, so effects apply in log order.
 */
export function createPipelineRunner(opts: PipelineRunnerOptions): PipelineRunner {
  let running = false;
  let loop: Promise<void> | undefined;
  const { sleep, wake } = wakeableSleep();
  let failures = 0;
  let chain: Promise<unknown> = Promise.resolve();

  const once = (): Promise<BatchOutcome | undefined> => {
    const next = chain.then(async () => {
      opts.pause?.started();
      const started = performance.now();
      let outcome: BatchOutcome | undefined;
      try {
        outcome = await processBatch(
          opts.storage,
          opts.steps,
          opts.batchSize,
          Date.now(),
          'fast',
          opts.recent,
          opts.keys,
        );
      } catch (e) {
        if (e instanceof RetryBatch) throw e;
        // An event was rejected, a step failed, or a batch-level write failed (which one is unknown): the same
        // entries again, each in its own savepoint. A store that is down fails here too and backs off.
        if (!(e instanceof IsolateBatch)) opts.logger.warn({ err: errorFields(e) }, 'fast batch failed; isolating');
        outcome = await processBatch(
          opts.storage,
          opts.steps,
          opts.batchSize,
          Date.now(),
          'isolated',
          opts.recent,
          opts.keys,
        );
      }
      if (outcome) {
        outcome.ms = performance.now() - started;
        opts.timed?.(outcome, outcome.ms);
      }
      return outcome;
    });
    chain = next.catch(() => undefined);
    return next;
  };
  async function run() {
    while (running) {
      try {
        const outcome = await once();
        failures = 0;
        if (outcome) {
          opts.onBatch?.(outcome);
          // Messages that came during the batch (appends, requests for this thread) are handled here.
          await new Promise<void>((resolve) => setImmediate(resolve));
          const pause = opts.pause?.after(outcome) ?? 0;
          // Not a wakeable sleep: appends are what the pause lets through.
          if (pause > 0 && running) await new Promise<void>((resolve) => setTimeout(resolve, pause));
        } else await sleep(opts.idleMs ?? 250);
      } catch (e) {
        failures++;
        const delay = Math.min(5000, 50 * 2 ** Math.min(failures, 7));
        opts.logger.error({ err: errorFields(e), failures, delay }, 'pipeline batch failed; retrying');
        await sleep(delay);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    notify() {
      wake();
    },
    async drain() {
      for (let attempt = 0; ; ) {
        try {
          const outcome = await once();
          if (!outcome) return;
          opts.onBatch?.(outcome);
          attempt = 0;
        } catch (e) {
          if (++attempt >= 5) throw e;
        }
      }
    },
    async stop() {
      running = false;
      wake();
      await loop;
      await chain;
    },
  };
}

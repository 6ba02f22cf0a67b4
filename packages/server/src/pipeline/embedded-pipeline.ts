import type { RecentChanges } from '../bus/recent-changes.js';
import { createLocalIngestWriter } from '../ingest/local-ingest-writer.js';
import type { ProcessedKeys } from '../ingest/processed-filter.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { BatchPause } from './ingest-first.js';
import { createPipelineRunner } from './pipeline-runner.js';
import { type BatchOutcome, PIPELINE_CONSUMER } from './process-batch.js';
import type { Step } from './step.js';
import { DEFAULT_STEPS } from './steps/index.js';

/**
 * The write side of the embedded mode: the group-committed ingest writer and the pipeline runner over one store,
 * wired so that an append wakes the pipeline. Runs in-process (tests, PostgreSQL) or on the writer thread.
 */
export async function createEmbeddedPipeline(
  storage: Storage,
  opts: {
    batchSize: number;
    logger: Logger;
    onBatch: (outcome: BatchOutcome) => void;
    steps?: readonly Step[];
    recent?: RecentChanges;
    pause?: BatchPause;
    keys?: ProcessedKeys;
  },
) {
  let wake = () => {};
  const writer = await createLocalIngestWriter(storage, PIPELINE_CONSUMER, () => wake());
  const runner = createPipelineRunner({
    storage,
    steps: opts.steps ?? DEFAULT_STEPS,
    batchSize: opts.batchSize,
    logger: opts.logger,
    onBatch: opts.onBatch,
    recent: opts.recent,
    pause: opts.pause,
    keys: opts.keys,
    timed: (outcome, ms) => writer.observe(outcome, ms),
  });
  wake = () => runner.notify();
  return { writer, runner };
}

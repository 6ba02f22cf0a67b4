import type { BatchOutcome } from '../pipeline/process-batch.js';
import type { Storage } from '../storage/storage.js';
import { createGroupCommit } from './group-commit.js';
import type { BacklogState, IngestWriter } from './ingest-writer.js';

/**
 * The embedded ingest writer: group-committed appends to the ingest log table of `storage`, and the backlog as
 * seen from appends and processed batches. `onAppended` wakes the pipeline, with the log's last position.
 */
export async function createLocalIngestWriter(
  storage: Storage,
  consumer: string,
  onAppended: (lastPosition: number) => void,
): Promise<IngestWriter & { observe(outcome: BatchOutcome, ms: number): void }> {
  let processed = await storage.log.offset(consumer);
  let appended = await storage.log.lastPosition();
  if (appended < processed) {
    // The log lost commits its consumer had seen (power loss with synchronous=NORMAL): never reuse those positions.
    await storage.log.positionsAbove(processed);
    appended = processed;
  }
  let eps = 0;
  const append = createGroupCommit(async (req) => {
    const positions = await storage.log.append(req.log);
    const last = positions.length > 0 ? Math.max(...positions) : 0;
    if (last > appended) appended = last;
    if (positions.length > 0) onAppended(appended);
    return { lastPosition: last };
  });
  return {
    append,
    alive: () => true,
    backlog(): BacklogState {
      return { events: Math.max(0, appended - processed), lagSeconds: 0, eventsPerSecond: eps, appended, processed };
    },
    observe(outcome, ms) {
      processed = Math.max(processed, outcome.lastPosition);
      if (outcome.lastPosition > appended) appended = outcome.lastPosition;
      if (ms > 0 && outcome.read >= 50) {
        const rate = (outcome.read * 1000) / ms;
        eps = eps === 0 ? rate : eps * 0.8 + rate * 0.2;
      }
    },
  };
}

import os from 'node:os';
import type { BatchOutcome } from './process-batch.js';

/**
 * The pause after a batch under saturation, as a multiple of the batch's time: the pipeline then runs a third of the
 * time while ingest saturates the process. Measured with a driver of the ingest bench's load on a warmed-up server
 * (8 s after an 8 s warm-up), runs interleaved (docs/performance.md, session 19): at 2, 57,650 to 76,850 events/s
 * acknowledged (mean of 5 runs 68,900); at 0.5 (the pause until then), 45,913 to 64,188 (mean of 8 runs 52,800); at 3,
 * 42,538 to 79,563 (mean of 8 runs 66,200). Session 11 chose 0.5 against nice 10 on a cold server.
 */
export const PAUSE_SHARE = 2;

/** What the pipeline runner asks between batches (`PipelineRunnerOptions.pause`). */
export interface BatchPause {
  /** A batch starts. */
  started(): void;
  /** How long to pause after this batch (ms), before the next one. */
  after(outcome: BatchOutcome): number;
}

/**
 * "Ingest first" on the writer thread (docs/architecture.md, threads and databases): while the tracking API appends
 * faster than the pipeline processes and the process has no core to spare, the pipeline pauses after each batch for
 * twice as long as the batch took, and so gives the threads that acknowledge ingest the cores. Saturation is the three
 * signs together, measured over the batch just done:
 * - the batch was full (`batchSize` entries read: the log held more);
 * - the log thread said it appended meanwhile (`appended()`): ingest is still arriving;
 * - the process used at least `cores − 0.5` cores (`process.cpuUsage`, every thread): no core was free.
 *
 * Once appends stop, the backlog drains at full speed; below saturation (batches not full, or a core free) it never
 * pauses, so an event waits for one batch, not for a pause. The backlog it lets build is bounded by the backlog cap
 * (DESIGN §3: 503 and `Retry-After` past it). It replaces a lower thread priority (nice 10) as the default, which
 * acknowledged as much under saturation but also slowed the pipeline whenever anything else took a core for a
 * moment: at a moderate load, the tail of an event's latency (docs/performance.md).
 */
export function ingestFirst(
  batchSize: number,
  cores = os.availableParallelism(),
  cpu: () => number = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  clock: () => number = () => performance.now(),
): BatchPause & { appended(): void } {
  let appended = false;
  let cpu0 = 0;
  let wall0 = 0;
  return {
    appended() {
      appended = true;
    },
    started() {
      appended = false;
      cpu0 = cpu();
      wall0 = clock();
    },
    after(outcome) {
      const wall = clock() - wall0;
      const busy = wall > 0 && (cpu() - cpu0) / wall >= cores - 0.5;
      return appended && busy && outcome.read >= batchSize ? (outcome.ms ?? wall) * PAUSE_SHARE : 0;
    },
  };
}

import os from 'node:os';
import type { BatchOutcome } from './process-batch.js';

/**
 * The pause after a batch under saturation, as a multiple of the batch's time, while the pipeline keeps up with the
 * appends at full speed: it then runs two thirds of the time, enough for the look-up bench's 5,000 events/s beside
 * its look-ups (session 11 chose it against nice 10).
 */
export const PAUSE_SHARE = 0.5;

/**
 * The pause under saturation while the appends outrun the pipeline even at full speed (an overload: the backlog grows
 * whatever it does): the pipeline runs a third of the time, and the threads that acknowledge get the rest. Measured
 * with a driver of the ingest bench's load on a warmed-up server (8 s after an 8 s warm-up), runs interleaved
 * (docs/performance.md, session 19): at 2, 57,650 to 76,850 events/s acknowledged (mean of 5 runs 68,900); at 0.5,
 * 45,913 to 64,188 (mean of 8 runs 52,800); at 3, 42,538 to 79,563 (mean of 8 runs 66,200). Below the pipeline's
 * capacity the same pause left the look-up bench's 5,000 events/s behind (a backlog of 11,900 and 15,700 at the end,
 * against 100 at 0.5): hence the two shares.
 */
export const OVERLOAD_PAUSE_SHARE = 2;

/** What the pipeline runner asks between batches (`PipelineRunnerOptions.pause`). */
export interface BatchPause {
  /** A batch starts. */
  started(): void;
  /** How long to pause after this batch (ms), before the next one. */
  after(outcome: BatchOutcome): number;
}

/**
 * "Ingest first" on the writer thread (docs/architecture.md, threads and databases): while the tracking API appends
 * faster than the pipeline processes and the process has no core to spare, the pipeline pauses after each batch, and
 * so gives the threads that acknowledge ingest the cores: for half as long as the batch took
 * ({@link PAUSE_SHARE}), or twice as long ({@link OVERLOAD_PAUSE_SHARE}) when the appends during the batch came faster
 * than the batch processed its entries. Saturation is the three signs together, measured over the batch just done:
 * - the batch was full (`batchSize` entries read: the log held more);
 * - the log thread said it appended meanwhile (`appended(position)`, with the log's last position): ingest is still
 *   arriving;
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
): BatchPause & { appended(position: number): void } {
  let appended = false;
  /** The log's last position as the log thread last said, and as it was when the batch started. */
  let position = 0;
  let position0 = 0;
  let cpu0 = 0;
  let wall0 = 0;
  return {
    appended(last) {
      appended = true;
      if (last > position) position = last;
    },
    started() {
      appended = false;
      position0 = position;
      cpu0 = cpu();
      wall0 = clock();
    },
    after(outcome) {
      const wall = clock() - wall0;
      const busy = wall > 0 && (cpu() - cpu0) / wall >= cores - 0.5;
      if (!appended || !busy || outcome.read < batchSize) return 0;
      const ms = outcome.ms ?? wall;
      // Entries appended during the batch against entries it processed, over the same time: more is an overload
      // (not known before the log thread has said a position once).
      const overload = position0 > 0 && position - position0 > outcome.read;
      return ms * (overload ? OVERLOAD_PAUSE_SHARE : PAUSE_SHARE);
    },
  };
}

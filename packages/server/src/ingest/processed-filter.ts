import { Worker } from 'node:worker_threads';
import { errorFields, type Logger } from '../logger.js';
import { SeenFilter } from './seen-filter.js';

/**
 * Which message ids of a request may already be processed, answered from memory (docs/architecture.md, "The
 * processed-message filter"). The tracking API answers `duplicates` for calls of a source already processed; asking
 * `processed_messages` for every call of every request cost the main thread about 7 % of its time under load
 * (each pipeline commit empties the reading connection's page cache). A Bloom filter holds every key the pipeline
 * can have processed, so only the ids it may hold are asked of the store, and the answer stays exact.
 */
export interface ProcessedFilter {
  /**
   * The ids of `messageIds` that may have been processed (ask the store about those only), or `undefined` while the
   * filter is not built yet (ask about all of them).
   */
  maybeProcessed(sourceId: string, messageIds: readonly string[]): readonly string[] | undefined;
  /** Adds keys about to be appended to the log (every key the pipeline will process passes here first). */
  add(sourceId: string, messageIds: readonly string[]): void;
  /** Keys held and the capacity of the filter in use (0 / 0 while none is ready). */
  state(): { ready: boolean; keys: number; capacity: number };
  stop(): Promise<void>;
}

/**
 * The part of a filter the pipeline uses, kept by the process that runs the batches: only the ids it may hold are
 * looked up in the store, and every key a batch stores is added to it.
 */
export type ProcessedKeys = Pick<ProcessedFilter, 'maybeProcessed' | 'add'>;

interface Generation {
  filter?: SeenFilter;
  /** Keys added before the scanning thread allocated the filter. */
  pending: [string, string][];
  keys: number;
  worker?: Worker;
}

/**
 * The embedded store's filter, from its first use on: a thread (`seen-filter-thread.ts`) scans `processed_messages`
 * and the log's unprocessed tail into a shared filter while this thread adds the keys it appends; answers are from
 * the filter once the scan is done. When the keys pass twice its capacity (false positives would grow), a larger one
 * is built the same way beside it (up to the largest size, `SeenFilter.MAX_BITS`). The store alone is the embedded
 * pipeline's: in cluster mode every api node appends, so none could hold every key, and the tracking API asks
 * PostgreSQL.
 */
export function createProcessedFilter(
  files: {
    mainFile: string;
    logFile: string;
    consumer: string;
    /** The smallest filter, in keys (tests); else `MIN_FILTER_KEYS`. */
    minKeys?: number;
  },
  logger: Logger,
): ProcessedFilter {
  let current: Generation | undefined;
  let building: Generation | undefined;
  let stopped = false;
  /** After a build that failed, none is tried again before this time (ms). */
  let retryAt = 0;

  const build = () => {
    const gen: Generation = { pending: [], keys: 0 };
    building = gen;
    const worker = new Worker(new URL('./seen-filter-thread.js', import.meta.url), { workerData: files });
    gen.worker = worker;
    worker.on('message', (msg: { op: 'allocated'; buffer: SharedArrayBuffer } | { op: 'done'; keys: number }) => {
      if (msg.op === 'allocated') {
        gen.filter = new SeenFilter(msg.buffer);
        for (const [s, m] of gen.pending) gen.filter.add(s, m);
        gen.pending = [];
      } else {
        gen.keys += msg.keys;
        // The scan's bits, set atomically by its thread, are read plainly from here on; only this thread writes now.
        gen.filter?.acquire();
        if (gen.filter) gen.filter.shared = false;
        current = gen;
        building = undefined;
        logger.debug({ keys: gen.keys, capacity: gen.filter?.capacity }, 'processed-message filter ready');
      }
    });
    worker.on('error', (e) => logger.warn({ err: errorFields(e) }, 'processed-message filter not built'));
    worker.on('exit', () => {
      gen.worker = undefined;
      // Failed before it was done: the filter in use (or the store) answers the checks; a minute before another try.
      if (building === gen) {
        building = undefined;
        retryAt = Date.now() + 60_000;
      }
    });
  };
  // Built on first use: a command that never ingests (most of the CLI's) never scans the store.
  let started = false;
  const start = () => {
    if (started || stopped) return;
    started = true;
    build();
  };

  return {
    maybeProcessed(sourceId, messageIds) {
      start();
      const filter = current?.filter;
      if (!filter) return undefined;
      return messageIds.filter((id) => filter.mightContain(sourceId, id));
    },
    add(sourceId, messageIds) {
      if (stopped) return;
      start();
      for (const gen of [current, building]) {
        if (!gen) continue;
        gen.keys += messageIds.length;
        if (gen.filter) for (const id of messageIds) gen.filter.add(sourceId, id);
        else for (const id of messageIds) gen.pending.push([sourceId, id]);
      }
      const inUse = current;
      const filter = inUse?.filter;
      // A filter at its largest size stays: a new one would be no larger (its false positives only cost look-ups).
      if (
        inUse &&
        filter &&
        !building &&
        inUse.keys > 2 * filter.capacity &&
        filter.buffer.byteLength * 8 < SeenFilter.MAX_BITS &&
        Date.now() >= retryAt
      )
        build();
    },
    state() {
      return current?.filter
        ? { ready: true, keys: current.keys, capacity: current.filter.capacity }
        : { ready: false, keys: 0, capacity: 0 };
    },
    async stop() {
      stopped = true;
      const worker = building?.worker;
      building = undefined;
      if (worker) await worker.terminate();
    },
  };
}

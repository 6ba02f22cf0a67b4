import type { JsMsg } from '@nats-io/jetstream';
import type { LogEntry } from '../ingest/logged-event.js';
import { errorFields, type Logger } from '../logger.js';
import { lockBatch } from '../pipeline/lock-batch.js';
import type { PipelineRunner } from '../pipeline/pipeline-runner.js';
import { type BatchOutcome, IsolateBatch, processEntries } from '../pipeline/process-batch.js';
import { isRetryable } from '../pipeline/run-steps.js';
import type { Step } from '../pipeline/step.js';
import type { Storage } from '../storage/storage.js';
import { wakeableSleep } from '../wakeable-sleep.js';
import { decodeLogMessage, fetchAll, type JetStreamHandle, logPosition } from './jetstream.js';

/** A message that fails on its own this many times (not because the store is down) is terminated. */
const MAX_DELIVERIES = 5;

export interface JetStreamWorkerOptions {
  handle: JetStreamHandle;
  storage: Storage;
  steps: readonly Step[];
  /** Events per transaction (about: whole messages are taken). */
  batchSize: number;
  logger: Logger;
  onBatch?: (outcome: BatchOutcome, ms: number) => void;
  /** How long a fetch waits for messages (ms). */
  fetchWaitMs?: number;
}

/**
 * A pipeline worker of cluster mode (DESIGN §2, §3): pulls messages of the log stream from the shared durable
 * consumer, processes their entries in one PostgreSQL transaction that first takes the batch's identity locks
 * (`lockBatch`), and acknowledges the messages only after the commit. A worker killed before its acks leaves the
 * messages to be delivered again (after the consumer's ack wait), where `processed_messages` makes them no-ops.
 * A transient store failure (database down, deadlock) runs the same batch again after a growing delay, the messages
 * held meanwhile, so the log's order is kept: workers pause while PostgreSQL is down and resume by themselves. A
 * failure of the batch's own is found by running its messages one by one; such a message is handed back with a delay
 * and set aside after {@link MAX_DELIVERIES} deliveries.
 */
export function createJetStreamWorker(opts: JetStreamWorkerOptions): PipelineRunner {
  const { handle, logger } = opts;
  let running = false;
  /** Set by `stop`: a batch being retried after a store failure is handed back instead. */
  let stopping = false;
  /** The pauses after a failure, which `stop` cuts short. */
  const pause = wakeableSleep();
  let loop: Promise<void> | undefined;
  let failures = 0;
  /** Calls per log message, measured; starts at an SDK's usual batch so the first fetch is not hundreds of them. */
  let entriesPerMessage = 100;
  let stopFetch: (() => void) | undefined;

  async function fetchBatch(waitMs: number): Promise<{ messages: JsMsg[]; cutShort: boolean }> {
    const consumer = await handle.js.consumers.get(handle.names.logStream, handle.names.pipelineConsumer);
    const max = Math.max(1, Math.min(100, Math.round(opts.batchSize / entriesPerMessage)));
    const iter = await consumer.fetch({ max_messages: max, expires: Math.max(1000, waitMs) });
    stopFetch = () => iter.stop();
    const out = await fetchAll(iter);
    stopFetch = undefined;
    return out;
  }

  /** Processes one fetched batch; true when it committed (the messages are acknowledged). */
  async function handleBatch(msgs: JsMsg[]): Promise<boolean> {
    const entries: LogEntry[] = [];
    const good: JsMsg[] = [];
    for (const m of msgs) {
      try {
        decodeLogMessage(m.data).forEach((e, i) => {
          entries.push({ ...e, position: logPosition(m.seq, i), rejection: e.rejection ?? null });
        });
        good.push(m);
      } catch (e) {
        // Not a message Tessera wrote: it stays in the stream (the raw store) and is never processed.
        logger.error({ seq: m.seq, err: { name: (e as Error).name } }, 'undecodable log message; terminated');
        m.term();
      }
    }
    if (good.length === 0) return true;
    entriesPerMessage = entriesPerMessage * 0.8 + (entries.length / good.length) * 0.2;
    const started = performance.now();
    const run = (mode: 'fast' | 'isolated') =>
      processEntries(opts.storage, opts.steps, entries, {
        mode,
        prepare: (tx, rules) => lockBatch(tx, entries, rules),
      });
    let outcome: BatchOutcome;
    try {
      for (;;) {
        try {
          try {
            outcome = await run('fast');
          } catch (e) {
            if (isRetryable(e)) throw e;
            if (!(e instanceof IsolateBatch)) logger.warn({ err: errorFields(e) }, 'fast batch failed; isolating');
            outcome = await run('isolated');
          }
          break;
        } catch (e) {
          if (!isRetryable(e) || stopping) throw e;
          // The store failed (down, a deadlock): the same messages again after a growing delay, held meanwhile, so
          // the log's order is kept (handed back, they would come after the calls fetched next).
          failures++;
          const delay = backoff(failures);
          logger.warn({ err: errorFields(e), failures, delay }, 'worker batch failed; running it again');
          await hold(good, delay);
          if (stopping) throw e;
        }
      }
    } catch (e) {
      if (isRetryable(e)) {
        // The worker stops while the store fails: handed back at once, to whichever worker runs next.
        for (const m of good) m.nak();
        return false;
      }
      const err = errorFields(e);
      if (good.length > 1) {
        // A failure that is not the store's: find the message that causes it by running each on its own.
        logger.warn({ err, messages: good.length }, 'worker batch failed; running its messages one by one');
        let all = true;
        for (const m of good) all = (await handleBatch([m])) && all;
        return all;
      }
      failures++;
      const delay = backoff(failures);
      const [only] = good;
      if (only.info.deliveryCount >= MAX_DELIVERIES && (await storeAnswers(opts.storage))) {
        // It fails alone, every time: set it aside (it stays in the stream, the raw store) rather than block the log.
        logger.error(
          { err, seq: only.seq, deliveries: only.info.deliveryCount },
          'log message failed repeatedly; terminated',
        );
        only.term();
        return false;
      }
      logger.warn({ err, failures, delay }, 'worker batch failed; handing it back');
      for (const m of good) m.nak(delay);
      await pause.sleep(delay);
      return false;
    }
    failures = 0;
    for (const m of good) m.ack();
    outcome.ms = performance.now() - started;
    opts.onBatch?.(outcome, outcome.ms);
    return true;
  }

  /**
   * Waits `ms` holding `msgs` (`working` at least every second: JetStream's ack wait restarts, so they are not
   * delivered again meanwhile); returns early once the worker stops.
   */
  async function hold(msgs: readonly JsMsg[], ms: number): Promise<void> {
    for (let waited = 0; waited < ms && !stopping; waited += 1000) {
      for (const m of msgs) m.working();
      await pause.sleep(Math.min(1000, ms - waited));
    }
  }

  async function run() {
    while (running) {
      let msgs: JsMsg[];
      try {
        msgs = (await fetchBatch(opts.fetchWaitMs ?? 1000)).messages;
      } catch (e) {
        if (!running) return;
        logger.warn({ err: errorFields(e) }, 'fetch failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (msgs.length > 0) await handleBatch(msgs);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = false;
      loop = run();
    },
    notify() {},
    async drain() {
      // Until a short fetch finds nothing (tests): the messages of a failed batch come back after their delay. A fetch
      // that fails or is cut short is no sign that nothing is pending (a stream or NATS server failing over answers
      // "temporarily unavailable" or misses heartbeats for a while, as `run` meets it too): it is tried again every
      // 500 ms, for 30 s at most.
      let cut = 0;
      const again = async (e: unknown) => {
        if (++cut > 60) throw e;
        await new Promise((r) => setTimeout(r, 500));
      };
      for (let empty = 0; empty < 2; ) {
        let fetched: Awaited<ReturnType<typeof fetchBatch>>;
        try {
          fetched = await fetchBatch(300);
        } catch (e) {
          logger.warn({ err: errorFields(e) }, 'fetch failed while draining; retrying');
          await again(e);
          continue;
        }
        if (fetched.messages.length > 0) {
          empty = 0;
          await handleBatch(fetched.messages);
        } else if (!fetched.cutShort) empty++;
        else await again(new Error('NATS fetches keep failing (heartbeats missed)'));
      }
    },
    async stop() {
      running = false;
      stopping = true;
      pause.wake();
      stopFetch?.();
      await loop;
    },
  };
}

/** The pause after the `failures`-th failure in a row (ms): 200 ms doubling, at most 5 s. */
function backoff(failures: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(failures, 6));
}

/** Whether the store answers a trivial read: a message is only set aside for its own fault, never for an outage. */
async function storeAnswers(storage: Storage): Promise<boolean> {
  try {
    await storage.log.offset('healthcheck');
    return true;
  } catch {
    return false;
  }
}

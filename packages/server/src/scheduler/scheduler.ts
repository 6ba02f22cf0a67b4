import os from 'node:os';
import { audienceWorkPending, runAudienceJob } from '../audiences/recompute.js';
import { loadRfmSettings, runRfm } from '../audiences/rfm.js';
import { purgeDeliveries } from '../destinations/retention.js';
import { errorFields, type Logger } from '../logger.js';
import { loadRetention, runRetention } from '../privacy/retention.js';
import type { Storage } from '../storage/storage.js';

/** A periodic job: run at most once per `everyMs` across every scheduler node. */
export interface Job {
  readonly name: string;
  readonly everyMs: number;
  /**
   * A read-only look at whether the job has anything to do (a frequent job): when false, the tick neither claims nor
   * runs it, so that an idle job writes nothing (in SQLite, a write of the main connection makes the writer thread's
   * batch retry its snapshot).
   */
  pending?(storage: Storage): Promise<boolean>;
  run(storage: Storage): Promise<void>;
}

/**
 * The jobs of the `scheduler` role. `partitions`: creates the coming months' partitions of `ingest_log` and
 * `events` (the migration run does it from a month back to three ahead; a server running for months needs it again).
 * `audiences`: full recomputations of saved audiences, then the due re-checks of expiring windows
 * (`audiences/recompute.ts`). `rfm`: the RFM scores of every profile, hourly (`audiences/rfm.ts`). `deliveries`:
 * the delivery log's delivered and skipped rows older than 30 days (`destinations/retention.ts`). `retention`: events
 * past the retention policies, with their raw payloads (`privacy/retention.ts`).
 */
export const DEFAULT_JOBS: readonly Job[] = [
  { name: 'partitions', everyMs: 6 * 3_600_000, run: async (storage) => void (await storage.migrate()) },
  {
    name: 'audiences',
    everyMs: 1_000,
    pending: (storage) => audienceWorkPending(storage),
    run: async (storage) => void (await runAudienceJob(storage)),
  },
  {
    // RFM scores move with time (recency) and purchases: refreshed hourly once configured.
    name: 'rfm',
    everyMs: 3_600_000,
    pending: async (storage) => (await loadRfmSettings(storage.settings)) !== undefined,
    run: async (storage) => void (await runRfm(storage)),
  },
  {
    name: 'deliveries',
    everyMs: 6 * 3_600_000,
    run: async (storage) => void (await purgeDeliveries(storage, Date.now())),
  },
  {
    name: 'retention',
    everyMs: 6 * 3_600_000,
    pending: async (storage) => (await loadRetention(storage)).rules.length > 0,
    run: async (storage) => void (await runRetention(storage, Date.now())),
  },
];

/** A failed run is tried again after this long (or its period, if shorter). */
const RETRY_MS = 60_000;

/** Default period of the scheduler's tick: the shortest job period. */
export const DEFAULT_TICK_MS = 1_000;

/**
 * The scheduler (DESIGN §2's `scheduler` role): every `tickMs`, each job whose period has passed is claimed in a
 * short transaction (`JobStore.claim`: advisory lock, then the last run's time) and, if this node won the claim,
 * run outside it. Two schedulers never run a job twice in one period; a run that fails is tried again a minute
 * later (or after its period, if shorter); a node that dies during a run leaves it to the next period.
 */
export function createScheduler(opts: {
  storage: Storage;
  logger: Logger;
  jobs?: readonly Job[];
  tickMs?: number;
  node?: string;
}) {
  const jobs = opts.jobs ?? DEFAULT_JOBS;
  const node = opts.node ?? `${os.hostname()}:${process.pid}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  /** A tick still running when the next is due: that one is skipped (a job never overlaps itself in a node). */
  let busy = false;

  async function tick(now = Date.now()): Promise<string[]> {
    const ran: string[] = [];
    for (const job of jobs) {
      try {
        if (job.pending && !(await job.pending(opts.storage))) continue;
        const claimed = await opts.storage.transaction((tx) => tx.jobs.claim(job.name, now, job.everyMs, node));
        if (!claimed) continue;
        const started = performance.now();
        try {
          await job.run(opts.storage);
        } catch (e) {
          // Tried again after a backoff, not a whole period later (a 6-hour job failing on a lost connection).
          const retryAt = now + Math.min(job.everyMs, RETRY_MS);
          await opts.storage
            .transaction((tx) => tx.jobs.backdate(job.name, now, node, retryAt - job.everyMs), { write: true })
            .catch(() => {});
          throw e;
        }
        ran.push(job.name);
        const ms = Math.round(performance.now() - started);
        // Frequent jobs (audience re-checks every second) log at debug unless they took a while.
        if (job.everyMs >= 60_000 || ms >= 1_000) opts.logger.info({ job: job.name, ms }, 'scheduled job ran');
        else opts.logger.debug({ job: job.name, ms }, 'scheduled job ran');
      } catch (e) {
        opts.logger.warn({ job: job.name, err: errorFields(e) }, 'job failed');
      }
    }
    return ran;
  }

  return {
    tick,
    start() {
      if (timer) return;
      const loop = () => {
        if (busy) return;
        busy = true;
        running = tick().then(
          () => {
            busy = false;
          },
          () => {
            busy = false;
          },
        );
      };
      loop();
      timer = setInterval(loop, opts.tickMs ?? DEFAULT_TICK_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

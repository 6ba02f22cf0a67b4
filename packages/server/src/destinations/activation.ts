import { errorFields, type Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { BACKOFF, retryDelay } from './backoff.js';
import type { DestinationCatalog } from './catalog.js';
import type { ChangeFeed } from './change-feed.js';
import { type DeliverDeps, deliverRound, type RoundOutcome } from './deliver.js';
import { scrubExports } from './exports-scrub.js';
import { createResourceCache } from './resources.js';
import { routable, routeChanges } from './route.js';

export interface ActivationOptions {
  storage: Storage;
  catalog: DestinationCatalog;
  feed: ChangeFeed;
  logger: Logger;
  clock?: () => number;
  random?: () => number;
  fetch?: typeof fetch;
  /** One send's time limit (default 10 s). */
  timeoutMs?: number;
  /** Idle re-check of the feed and of due deliveries (another node's work, retries coming due); default 1 s. */
  pollMs?: number;
  /** Concurrent rounds per destination (default 2). */
  concurrency?: number;
  /** Changes routed per transaction (default 500). */
  routeBatch?: number;
  /** Catalog reload period (default 5 s). */
  refreshMs?: number;
  /** Retry timing of messages (default `BACKOFF`: 1 s doubling to 1 h). */
  backoff?: { baseMs: number; capMs: number };
  /** Where file destinations write (scrubbed by an erasure). */
  exportDir?: string;
}

/**
 * What the app holds of the router and delivery loops: in this process (`createActivation`), or in the embedded
 * writer thread (`startWriterThread`).
 */
export interface ActivationControl {
  start(): Promise<void>;
  /** New changes are on the bus. */
  notify(): void;
  /** A destination has messages due now (a replay). */
  wake(destinationId: string): void;
  /** The destinations changed: reload them now. */
  refresh(): Promise<void>;
  /** Routes every change on the bus, then delivers every message due now. */
  drain(): Promise<void>;
  /** Removes the lines naming `values` from the files file destinations wrote (an erasure). */
  scrubExports(values: readonly string[]): Promise<{ files: number; lines: number }>;
  stop(): Promise<void>;
}

/** A wait that `wake` cuts short for every waiter, and that does not wait at all when woken while busy. */
function signal() {
  let woken = false;
  const waiters = new Set<() => void>();
  return {
    wake() {
      woken = true;
      for (const release of waiters) release();
    },
    async wait(ms: number) {
      if (woken || ms <= 0) {
        woken = false;
        return;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
      woken = false;
    },
  };
}

interface Loop {
  signal: ReturnType<typeof signal>;
  /** Consecutive rounds whose every send failed: the destination looks down, rounds are spaced out. */
  failures: number;
  pausedUntil: number;
  workers: Promise<void>[];
  stopped: boolean;
}

/**
 * Activation (DESIGN §7): the router, which reads the change bus and writes each destination's outbox, and one set
 * of delivery loops per destination. Strict isolation: a destination's loops only ever wait on its own sends, its
 * own backoff and its own rate limit; one that fails every send is probed less and less often (up to once a
 * minute, or as its `Retry-After` says), with one message, while its other messages keep their own retry times.
 */
export function createActivation(opts: ActivationOptions) {
  const { storage, catalog, feed, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const pollMs = opts.pollMs ?? 1000;
  const concurrency = opts.concurrency ?? 2;
  const stopping = new AbortController();
  const resources = createResourceCache();
  const deps: DeliverDeps = {
    storage,
    logger,
    clock,
    random: opts.random ?? Math.random,
    fetch: opts.fetch ?? fetch,
    timeoutMs: opts.timeoutMs ?? 10_000,
    leaseMs: Math.max(60_000, (opts.timeoutMs ?? 10_000) * 3),
    signal: stopping.signal,
    backoff: opts.backoff ?? BACKOFF,
    resource: (key, open, close) => resources.get(key, open, close),
  };
  const loops = new Map<string, Loop>();
  const router = signal();
  let running = false;
  let routerLoop: Promise<void> | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;

  /** Routes one batch of changes; returns how many it read. */
  async function routeOnce(): Promise<number> {
    const changes = await feed.next(opts.routeBatch ?? 500);
    if (changes.length === 0) return 0;
    if (!routable(changes, catalog.active())) {
      // Nothing to route or record (the usual case without destinations): no routing transaction.
      if (feed.transactional) await storage.transaction((tx) => feed.commit(tx, changes), { write: true });
      await feed.acknowledge(changes);
      return changes.length;
    }
    const outcome = await storage.transaction(
      async (tx) => {
        const o = await routeChanges(tx, changes, catalog.active(), clock());
        await feed.commit(tx, changes);
        return o;
      },
      { write: true },
    );
    await feed.acknowledge(changes);
    for (const id of outcome.destinations) loops.get(id)?.signal.wake();
    return changes.length;
  }

  async function runRouter() {
    let failures = 0;
    while (running) {
      let read = 0;
      try {
        read = await routeOnce();
        failures = 0;
      } catch (e) {
        failures++;
        logger.warn({ err: errorFields(e), failures }, 'destination routing failed');
      }
      if (read === 0 || failures > 0)
        await router.wait(failures > 0 ? Math.min(5000, 100 * 2 ** Math.min(failures, 6)) : pollMs);
    }
  }

  async function runWorker(id: string, loop: Loop) {
    while (running && !loop.stopped) {
      const d = catalog.get(id);
      if (!d) return;
      const now = clock();
      if (loop.pausedUntil > now) {
        await loop.signal.wait(Math.min(loop.pausedUntil - now, pollMs * 10));
        continue;
      }
      let r: RoundOutcome | undefined;
      try {
        // A destination that looks down is probed with one message; the others wait for it to answer.
        r = d.row.enabled ? await deliverRound(deps, d.row, d.plugin, loop.failures > 0 ? 1 : undefined) : undefined;
        if (!r) {
          // Disabled (paused): its messages wait; an update wakes the loop.
          await loop.signal.wait(pollMs);
          continue;
        }
      } catch (e) {
        logger.warn({ err: errorFields(e), destinationId: id }, 'delivery round failed');
        await loop.signal.wait(1000);
        continue;
      }
      if (r && r.claimed > 0) {
        if (r.allFailed) {
          loop.failures++;
          loop.pausedUntil =
            clock() +
            Math.min(deps.backoff.capMs, 60_000, retryDelay(loop.failures, deps.random, r.retryAfterMs, deps.backoff));
        } else loop.failures = 0;
        continue;
      }
      if (r?.throttledMs !== undefined) {
        await loop.signal.wait(r.throttledMs);
        continue;
      }
      let wait = pollMs;
      try {
        const due = await storage.deliveries.nextDue(id, clock());
        if (due !== undefined) wait = Math.min(pollMs, Math.max(0, due - clock()) + 5);
      } catch {
        // the poll interval then
      }
      await loop.signal.wait(wait);
    }
  }

  /** Starts loops for new destinations and stops those of removed ones (after their round in flight). */
  function reconcile() {
    if (!running) return;
    const ids = new Set(catalog.active().map((d) => d.row.id));
    for (const [id, loop] of loops)
      if (!ids.has(id)) {
        loop.stopped = true;
        loop.signal.wake();
        loops.delete(id);
      }
    for (const id of ids) {
      if (loops.has(id)) {
        (loops.get(id) as Loop).signal.wake();
        continue;
      }
      const loop: Loop = { signal: signal(), failures: 0, pausedUntil: 0, workers: [], stopped: false };
      loops.set(id, loop);
      for (let i = 0; i < concurrency; i++) loop.workers.push(runWorker(id, loop));
    }
    void closeStaleResources();
  }

  async function closeStaleResources() {
    const current = catalog.active().map((d) => `${d.row.id}\u0000${d.row.version}\u0000`);
    await resources.close(
      (key) => current.some((prefix) => key.startsWith(prefix)),
      (e) => logger.warn({ err: errorFields(e) }, 'closing a destination resource failed'),
    );
  }

  catalog.onRefresh(reconcile);

  const control: ActivationControl & { routeOnce: typeof routeOnce } = {
    async start() {
      if (running) return;
      running = true;
      await catalog.refresh();
      reconcile();
      routerLoop = runRouter();
      refreshTimer = setInterval(() => {
        catalog.refresh().catch((e) => logger.warn({ err: errorFields(e) }, 'destination catalog reload failed'));
      }, opts.refreshMs ?? 5000);
      refreshTimer.unref();
    },
    /** New changes are on the bus (the pipeline committed a batch). */
    notify() {
      router.wake();
    },
    /** Wakes a destination's loops (a replay, a test send). */
    wake(destinationId: string) {
      loops.get(destinationId)?.signal.wake();
    },
    refresh: () => catalog.refresh(),
    async scrubExports(values) {
      if (!opts.exportDir) return { files: 0, lines: 0 };
      // Open files closed first: the file destinations open new ones at their next send.
      await resources.close();
      return scrubExports(opts.exportDir, values);
    },
    routeOnce,
    /** Routes every change on the bus, then runs rounds of every destination until none claims a due message. */
    async drain() {
      await catalog.refresh();
      while ((await routeOnce()) > 0);
      for (const d of catalog.active()) {
        if (!d.row.enabled) continue;
        for (;;) {
          const r = await deliverRound(deps, d.row, d.plugin);
          if (r.claimed === 0 || r.allFailed) break;
        }
      }
    },
    async stop() {
      running = false;
      if (refreshTimer) clearInterval(refreshTimer);
      router.wake();
      await routerLoop;
      stopping.abort();
      for (const loop of loops.values()) {
        loop.stopped = true;
        loop.signal.wake();
      }
      await Promise.all([...loops.values()].flatMap((l) => l.workers));
      loops.clear();
      await resources.close();
      await feed.close();
    },
  };
  return control;
}

export type Activation = ReturnType<typeof createActivation>;

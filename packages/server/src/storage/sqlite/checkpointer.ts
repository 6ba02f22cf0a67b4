import { Worker } from 'node:worker_threads';
import { errorFields, type Logger } from '../../logger.js';

/** What the checkpointer thread is given at start. */
export interface CheckpointerData {
  files: string[];
  durability: 'normal' | 'full';
  intervalMs: number;
}

/**
 * The embedded store's WAL checkpointer (docs/storage.md): a thread of its own that runs `wal_checkpoint(PASSIVE)` on
 * each database file every `intervalMs`, for connections opened with `externalCheckpoints`. A passive checkpoint
 * takes no lock a writer or a reader waits for: it copies the WAL frames no reader still needs into the database,
 * and the writer starts the WAL over once they all are. So the pipeline's commits only append to the WAL, and the
 * copy (and, at `synchronous=NORMAL`, the one disk sync per checkpoint) happens beside them. A thread that exits is
 * started again, 1 s later, then up to a minute after repeated exits: without it the WAL would only grow.
 */
export function startCheckpointer(
  data: CheckpointerData,
  logger: Logger,
  /** Told the thread's Linux thread id at each start (CPU by thread in `/metrics`). */
  onThreadId?: (tid: number) => void,
): { stop(): Promise<void> } {
  let worker: Worker | undefined;
  let stopping = false;
  let restart: NodeJS.Timeout | undefined;
  let failures = 0;
  const start = () => {
    const w = new Worker(new URL('./checkpoint-thread.js', import.meta.url), { workerData: data });
    worker = w;
    w.on('error', (e) => logger.error({ err: errorFields(e) }, 'checkpointer thread failed'));
    w.on('message', (msg: { tid?: number }) => {
      if (typeof msg?.tid === 'number') onThreadId?.(msg.tid);
    });
    w.on('exit', () => {
      if (stopping || worker !== w) return;
      worker = undefined;
      failures++;
      const delay = Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 6));
      logger.warn({ failures, delay }, 'checkpointer thread exited; starting it again');
      restart = setTimeout(start, delay);
      restart.unref();
    });
    w.unref();
  };
  start();
  return {
    async stop() {
      stopping = true;
      if (restart) clearTimeout(restart);
      const w = worker;
      worker = undefined;
      if (!w) return;
      // Referenced while it stops: an unreferenced thread and timer would let the process exit mid-await.
      w.ref();
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.postMessage('stop');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      await w.terminate();
    },
  };
}

import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { scanProcessedKeys } from './seen-filter-scan.js';

/** The processed-message filter's scan (`processed-filter.ts`), on a thread of its own that exits when done. */
const data = workerData as { mainFile: string; logFile: string; consumer: string; minKeys?: number };
const port = parentPort;
if (!port) throw new Error('seen-filter-thread must run as a worker');
const main = new BetterSqlite3(data.mainFile, { readonly: true, fileMustExist: true });
const log = new BetterSqlite3(data.logFile, { readonly: true, fileMustExist: true });
try {
  const keys = scanProcessedKeys(
    main,
    log,
    data.consumer,
    (filter) => port.postMessage({ op: 'allocated', buffer: filter.buffer }),
    data.minKeys,
  );
  port.postMessage({ op: 'done', keys });
} finally {
  main.close();
  log.close();
}

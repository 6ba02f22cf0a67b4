import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { currentThreadId } from '../../ops/thread-cpu.js';
import type { CheckpointerData } from './checkpointer.js';

/** The checkpointer thread (`checkpointer.ts`): one connection per file, a passive checkpoint of each per round. */
const data = workerData as CheckpointerData;
const port = parentPort;
if (!port) throw new Error('checkpoint-thread must run as a worker');
const connections = data.files.map((file) => {
  const db = new BetterSqlite3(file);
  db.pragma('busy_timeout = 1000');
  // The disk sync of a checkpoint follows the store's durability (NORMAL: once per checkpoint; FULL: the same).
  db.pragma(`synchronous = ${data.durability === 'full' ? 'FULL' : 'NORMAL'}`);
  return db;
});
const timer = setInterval(() => {
  for (const db of connections) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // SQLITE_BUSY from a concurrent TRUNCATE checkpoint (an erasure's scrub): the next round does it.
    }
  }
}, data.intervalMs);
port.postMessage({ tid: currentThreadId() });
port.on('message', (msg: unknown) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  for (const db of connections) db.close();
  port.close();
});

import { createHook } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import type { LogEntryInput, LoggedEvent } from '../ingest/logged-event.js';
import { createLogger } from '../logger.js';
import { type BatchPhases, noPhases } from '../pipeline/batch-phases.js';
import { processBatch } from '../pipeline/process-batch.js';
import { pipelineSteps } from '../pipeline/steps/index.js';
import { WRITER_YOUNG_GENERATION_MB } from '../pipeline/thread-writer.js';
import { instanceSecret } from '../privacy/instance-secret.js';
import { startCheckpointer } from '../storage/sqlite/checkpointer.js';
import { createSqliteStorage, logFileOf } from '../storage/sqlite/create-sqlite-storage.js';

/**
 * One run of the in-process batch benchmark (bench/batch.ts): `node batch-child.js EVENTS BATCH [promises]`. A fresh
 * embedded store in a temporary directory, its WAL checkpointed by a checkpointer thread as the server's is (not by
 * SQLite inside the commits); EVENTS logged events of the ingest benchmark's shape (100-call requests: one
 * `identify` with a new e-mail in ten, the rest `track`, 20 users a request) appended to the log; then the pipeline's
 * fast batches of BATCH until the log is drained, timed. Prints one JSON line, `BatchRunReport`. With `promises`, a
 * promise hook counts the promises the batches create (it slows them: that run is not timed).
 *
 * The run happens in a worker thread with the young generation of the server's writer thread
 * (`WRITER_YOUNG_GENERATION_MB`), so that its garbage collection is the writer's, not the main thread's default
 * (docs/performance.md, session 19).
 */
export interface BatchRunReport {
  events: number;
  /** Wall-clock and CPU (user + system, every thread of the process) time per event, µs. */
  wallUs: number;
  cpuUs: number;
  /** Promises created per event, when counted. */
  promises?: number;
  /** Wall-clock time per event by phase of the batches (µs, see `BatchPhases`). */
  phases: BatchPhases;
}

const [events, batch, mode] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), {
    argv: process.argv.slice(2),
    resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
  });
  const report = await new Promise<BatchRunReport>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the batch run ended (exit code ${code}) without a report`)));
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else parentPort?.postMessage(await run());

async function run(): Promise<BatchRunReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-batch-'));
  try {
    const file = path.join(dir, 'tessera.db');
    const storage = createSqliteStorage({ file, durability: 'normal', externalCheckpoints: true });
    await storage.migrate();
    const steps = pipelineSteps(instanceSecret({ dataDir: dir }));
    const at = new Date().toISOString();
    for (let r = 0; r < events / 100; r++) {
      const entries: LogEntryInput[] = [];
      for (let i = 0; i < 100; i++) {
        const identify = i % 10 === 0;
        const event: LoggedEvent = {
          type: identify ? 'identify' : 'track',
          messageId: `${r}-${i}`,
          userId: `user-${r}-${i % 20}`,
          ...(identify
            ? { traits: { email: `user${r}${i}@example.com`, plan: 'pro' } }
            : { event: 'Product Viewed', properties: { sku: `SKU-${i}`, price: 19.99, currency: 'EUR' } }),
          timestamp: at,
          receivedAt: at,
          context: { library: { name: 'bench', version: '1' }, ip: '127.0.0.1' },
        };
        entries.push({
          sourceId: 'bench',
          messageId: event.messageId,
          receivedAt: Date.now(),
          payload: JSON.stringify(event),
        });
      }
      await storage.log.append(entries);
    }
    const checkpointer = startCheckpointer(
      { files: [file, logFileOf(file)], durability: 'normal', intervalMs: 500 },
      createLogger('warn'),
    );
    let promises = 0;
    const hook =
      mode === 'promises' ? createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) }) : undefined;
    hook?.enable();
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    let n = 0;
    const phases = noPhases();
    for (;;) {
      const outcome = await processBatch(storage, steps, batch, Date.now(), 'fast');
      if (!outcome) break;
      n += outcome.read;
      for (const k of Object.keys(phases) as (keyof BatchPhases)[]) phases[k] += outcome.phases?.[k] ?? 0;
    }
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    hook?.disable();
    await checkpointer.stop();
    await storage.close();
    const report: BatchRunReport = {
      events: n,
      wallUs: (wall * 1000) / n,
      cpuUs: (cpu.user + cpu.system) / n,
      ...(hook ? { promises: promises / n } : {}),
      phases: Object.fromEntries(
        Object.entries(phases).map(([k, ms]) => [k, (ms * 1000) / n]),
      ) as unknown as BatchPhases,
    };
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

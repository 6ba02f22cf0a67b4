import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchRunReport } from './batch-child.js';
import { runJsonChild } from './child.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * `npm run bench -- --only batch`: the pipeline's own cost, in process, without HTTP, the log thread or the router
 * (bench/batch-child.ts): 40,000 × scale events of the ingest benchmark's shape through the fast batches of the
 * default size (500), in a worker thread with the writer thread's young generation, five runs, each in a fresh process and store. On a shared machine the minimum is the figure
 * to compare between builds (noise only adds), the median says how noisy the runs were; the fastest run's time by
 * phase says where it went; a sixth run counts the promises per event (a deterministic figure of the step chain's
 * overhead).
 */
export async function batchBench(scale: number): Promise<void> {
  const events = Math.max(5000, Math.round((40_000 * scale) / 100) * 100);
  const child = path.join(here, 'batch-child.js');
  const runs: BatchRunReport[] = [];
  for (let i = 0; i < 5; i++) runs.push(await runJsonChild<BatchRunReport>([child, String(events), '500']));
  const counted = await runJsonChild<BatchRunReport>([child, String(Math.min(events, 10_000)), '500', 'promises']);
  const fastest = runs.reduce((a, r) => (r.wallUs < a.wallUs ? r : a));
  const wall = runs.map((r) => r.wallUs).sort((a, b) => a - b);
  const cpu = runs.map((r) => r.cpuUs).sort((a, b) => a - b);
  const us = (n: number) => n.toFixed(1);
  console.log(
    `batch    in process, ${events.toLocaleString('en-US')} events in fast batches of 500, 5 runs: wall min ${us(wall[0])} µs an event (${Math.round(1e6 / wall[0]).toLocaleString('en-US')} events/s), median ${us(wall[2])}, max ${us(wall[4])}; CPU min ${us(cpu[0])} µs (every thread: garbage collection included); ${counted.promises?.toFixed(1)} promises an event`,
  );
  console.log(
    `batch    the fastest run by phase, µs an event: ${Object.entries(fastest.phases)
      .map(([phase, t]) => `${phase} ${us(t)}`)
      .join(', ')} (steps: settings, the look-ups before the batch, every event's steps)`,
  );
}

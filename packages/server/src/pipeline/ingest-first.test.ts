import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import { type BatchPause, ingestFirst } from './ingest-first.js';
import { createPipelineRunner } from './pipeline-runner.js';
import type { BatchOutcome } from './process-batch.js';
import { DEFAULT_STEPS } from './steps/index.js';

const outcome = (read: number, ms: number) => ({ read, ms }) as BatchOutcome;

/** The rule on a fake clock and CPU meter: `spend(ms, busy)` lets `ms` pass with `busy` cores used meanwhile. */
function metered(batchSize: number, cores: number) {
  let now = 0;
  let cpu = 0;
  const rule = ingestFirst(
    batchSize,
    cores,
    () => cpu,
    () => now,
  );
  const spend = (ms: number, busy: number) => {
    now += ms;
    cpu += ms * busy;
  };
  return { rule, spend };
}

describe('ingestFirst', () => {
  // 2 cores, a batch of 100 entries that took 40 ms of wall time; the process used `cores` cores meanwhile, and the
  // log thread appended up to `appended` entries past the position it gave before the batch (none: no append).
  it.each([
    { case: 'saturated, fewer appends than processed', read: 100, appended: 60, cores: 1.6, pause: 20 },
    { case: 'saturated, appends outrunning the batch (overload)', read: 100, appended: 250, cores: 1.6, pause: 80 },
    { case: 'every core busy to the last', read: 100, appended: 60, cores: 2, pause: 20 },
    { case: 'the log held no more than the batch', read: 99, appended: 250, cores: 2, pause: 0 },
    { case: 'no append during the batch: draining after the load', read: 100, appended: 0, cores: 2, pause: 0 },
    { case: 'a core to spare', read: 100, appended: 250, cores: 1.4, pause: 0 },
  ])('$case → pause $pause ms', ({ read, appended, cores, pause }) => {
    const { rule, spend } = metered(100, 2);
    rule.appended(1000); // before the batch: forgotten when it starts
    rule.started();
    if (appended > 0) rule.appended(1000 + appended);
    spend(40, cores);
    expect(rule.after(outcome(read, 40))).toBe(pause);
  });

  it('pauses for half of the batch, or twice under overload, whatever its length', () => {
    const { rule, spend } = metered(10, 1);
    let position = 0;
    for (const ms of [8, 30, 120]) {
      for (const [appended, share] of [
        [5, 0.5],
        [50, 2],
      ]) {
        rule.started();
        position += appended;
        rule.appended(position);
        spend(ms, 1);
        expect(rule.after(outcome(10, ms))).toBe(ms * share);
      }
    }
  });

  it('does not call the first position it hears an overload (nothing to compare it with)', () => {
    const { rule, spend } = metered(100, 2);
    rule.started();
    rule.appended(1_000_000);
    spend(40, 2);
    expect(rule.after(outcome(100, 40))).toBe(20);
  });

  it('never takes an older position for a newer one (messages out of order)', () => {
    const { rule, spend } = metered(100, 2);
    rule.appended(5000);
    rule.started();
    rule.appended(4000);
    rule.appended(5050);
    spend(40, 2);
    expect(rule.after(outcome(100, 40))).toBe(20);
  });
});

describe('the pipeline runner with a pause', () => {
  it('asks before each batch and after it, and waits the pause before the next batch', async () => {
    const storage = createSqliteStorage({ file: ':memory:' });
    await storage.migrate();
    await storage.log.append(
      Array.from({ length: 4 }, (_, i) => ({ sourceId: 'src', messageId: `m${i}`, receivedAt: 1, payload: '{}' })),
    );
    const calls: string[] = [];
    const ended: number[] = [];
    const began: number[] = [];
    const pause: BatchPause = {
      started() {
        calls.push('started');
        began.push(performance.now());
      },
      after(o) {
        calls.push(`after ${o.read}`);
        return calls.length === 2 ? 150 : 0;
      },
    };
    let batches = 0;
    const done = new Promise<void>((resolve) => {
      const runner = createPipelineRunner({
        storage,
        steps: DEFAULT_STEPS,
        batchSize: 2,
        logger: createLogger('silent'),
        idleMs: 10,
        pause,
        onBatch: () => {
          ended.push(performance.now());
          if (++batches === 2) void runner.stop().then(resolve);
        },
      });
      runner.start();
    });
    await done;
    await storage.close();
    expect(calls.slice(0, 3)).toEqual(['started', 'after 2', 'started']);
    // The second batch began after the 150 ms pause that followed the first.
    expect(began[1] - ended[0]).toBeGreaterThanOrEqual(140);
  });
});

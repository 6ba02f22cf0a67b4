import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../ops/metrics.js';
import type { SourceRow } from '../sources/ports.js';
import { createSqliteStorage, logFileOf } from '../storage/sqlite/create-sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { createIngestService } from './ingest-service.js';
import type { IngestWriter } from './ingest-writer.js';
import type { LogEntryInput } from './logged-event.js';
import type { createProcessedFilter as CreateProcessedFilter, ProcessedFilter } from './processed-filter.js';
import type { SeenFilter } from './seen-filter.js';
import { scanProcessedKeys } from './seen-filter-scan.js';

const SOURCE = 'src-web';
const CONSUMER = 'pipeline';
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** A store on a file with `processed` keys processed, then `logged` more appended (positions after them). */
async function storeWith(processed: string[], logged: string[]): Promise<{ storage: Storage; file: string }> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-seen-'));
  const file = path.join(dir, 'tessera.db');
  const storage = createSqliteStorage({ file });
  await storage.migrate();
  const entry = (messageId: string): LogEntryInput => ({
    sourceId: SOURCE,
    messageId,
    receivedAt: Date.now(),
    payload: '{}',
  });
  const positions = await storage.log.append(processed.map(entry));
  await storage.processed.insert(
    processed.map((messageId) => ({ sourceId: SOURCE, messageId, eventId: null, processedAt: Date.now() })),
  );
  if (positions.length > 0) await storage.log.commitOffset(CONSUMER, Math.max(...positions));
  await storage.log.append(logged.map(entry));
  return { storage, file };
}

describe('the processed-message filter: the scan', () => {
  it('holds every processed key and every log entry after the pipeline offset, in a filter sized from the store', async () => {
    const processed = Array.from({ length: 300 }, (_, i) => `done-${i}`);
    const { storage, file } = await storeWith(processed, ['pending-1', 'pending-2']);
    const main = new BetterSqlite3(file, { readonly: true });
    const log = new BetterSqlite3(logFileOf(file), { readonly: true });
    let allocated: SeenFilter | undefined;
    const keys = scanProcessedKeys(
      main,
      log,
      CONSUMER,
      (f) => {
        allocated = f;
      },
      100,
    );
    main.close();
    log.close();
    await storage.close();
    expect(keys).toBe(302);
    // Twice the keys found (302), at least the minimum given (100).
    expect(allocated?.capacity).toBeGreaterThanOrEqual(604);
    for (const id of [...processed, 'pending-1', 'pending-2']) expect(allocated?.mightContain(SOURCE, id)).toBe(true);
    expect(allocated?.mightContain('another-source', 'pending-1')).toBe(false);
  });
});

/** A filter that answers as told, and records what was added. */
function fakeFilter(maybe: string[] | undefined): ProcessedFilter & { added: string[] } {
  const added: string[] = [];
  return {
    added,
    maybeProcessed: (_s, ids) => (maybe === undefined ? undefined : ids.filter((id) => maybe.includes(id))),
    add: (_s, ids) => {
      added.push(...ids);
    },
    state: () => ({ ready: maybe !== undefined, keys: 0, capacity: 0 }),
    stop: async () => {},
  };
}

describe('the processed-message filter: the ingest service asks the store only about what it may hold', () => {
  const call = (messageId: string) => ({ type: 'track', event: 'Viewed', userId: 'u1', messageId });

  async function service(filter: ProcessedFilter | undefined) {
    const { storage } = await storeWith(['old-1', 'old-2'], []);
    const existing = vi.spyOn(storage.processed, 'existing');
    const appended: string[] = [];
    const writer: IngestWriter = {
      append: async (req) => {
        appended.push(...req.log.map((e) => e.messageId));
        return { lastPosition: 1 };
      },
      backlog: () => ({ events: 0, lagSeconds: 0, eventsPerSecond: 0, appended: 0, processed: 0 }),
      alive: () => true,
    };
    const ingest = createIngestService({
      storage,
      writer,
      metrics: createMetrics(),
      limits: { maxBacklog: 1000, freeDisk: () => Number.MAX_SAFE_INTEGER, minFreeDisk: 0 },
      processed: filter,
    });
    return { storage, existing, appended, ingest, source: { id: SOURCE, name: 'web' } as SourceRow };
  }

  it('no id in the filter: the store is not asked, every call is appended, and their keys are added', async () => {
    const filter = fakeFilter([]);
    const { storage, existing, appended, ingest, source } = await service(filter);
    const answer = await ingest.accept(source, [call('new-1'), call('new-2'), { type: 'track', userId: 'u1' }]);
    await storage.close();
    expect(existing).not.toHaveBeenCalled();
    expect(answer).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(appended).toHaveLength(3); // the refused call is logged too, for the pipeline to quarantine
    expect(filter.added).toEqual(appended);
  });

  it('ids the filter may hold: only they are asked, and the processed ones are answered as duplicates', async () => {
    const filter = fakeFilter(['old-1', 'false-positive']);
    const { storage, existing, appended, ingest, source } = await service(filter);
    const answer = await ingest.accept(source, [call('old-1'), call('false-positive'), call('new-1')]);
    await storage.close();
    expect(existing).toHaveBeenCalledTimes(1);
    expect(existing.mock.calls[0][1]).toEqual(['old-1', 'false-positive']);
    expect(answer).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(appended).toEqual(['false-positive', 'new-1']);
  });

  it('a filter not built yet, or none: every id is asked', async () => {
    for (const filter of [fakeFilter(undefined), undefined]) {
      const { storage, existing, ingest, source } = await service(filter);
      const answer = await ingest.accept(source, [call('old-2'), call('new-1')]);
      await storage.close();
      expect(existing.mock.calls[0][1]).toEqual(['old-2', 'new-1']);
      expect(answer).toMatchObject({ accepted: 1, duplicates: 1 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The scan's thread is compiled JavaScript: the test loads the built module, as checkpointer.test.ts does. */
const BUILT = fileURLToPath(new URL('../../dist/ingest/processed-filter.js', import.meta.url));
const IN_CI = process.env.CI === 'true';
if (!existsSync(BUILT) && !IN_CI) console.warn(`[processed-filter] skipped: ${BUILT} is missing; run npm run build`);

describe.runIf(existsSync(BUILT) || IN_CI)('the processed-message filter: its thread', () => {
  it('answers from the store until its scan is done, then from memory; keys added meanwhile are kept', async () => {
    const { createProcessedFilter } = (await import(BUILT)) as { createProcessedFilter: typeof CreateProcessedFilter };
    const processed = Array.from({ length: 5000 }, (_, i) => `done-${i}`);
    const { storage, file } = await storeWith(processed, ['pending-1']);
    const filter = createProcessedFilter(
      { mainFile: file, logFile: logFileOf(file), consumer: CONSUMER },
      pino({ level: 'silent' }),
    );
    try {
      expect(filter.state().ready).toBe(false);
      expect(filter.maybeProcessed(SOURCE, ['done-1'])).toBeUndefined(); // the first use starts the scan: ask the store
      filter.add(SOURCE, ['added-during-the-scan']);
      await vi.waitFor(() => expect(filter.state().ready).toBe(true), { timeout: 10_000 });
      expect(filter.state().keys).toBe(5002);
      expect(filter.maybeProcessed(SOURCE, ['done-0', 'done-4999', 'pending-1', 'added-during-the-scan'])).toHaveLength(
        4,
      );
      const fresh = Array.from({ length: 1000 }, (_, i) => `fresh-${i}`);
      expect(filter.maybeProcessed(SOURCE, fresh)?.length).toBeLessThan(20);
      filter.add(SOURCE, ['added-after']);
      expect(filter.maybeProcessed(SOURCE, ['added-after'])).toEqual(['added-after']);
    } finally {
      await filter.stop();
      await storage.close();
    }
  });

  it('past twice its capacity, builds a larger filter beside it and keeps every key', async () => {
    const { createProcessedFilter } = (await import(BUILT)) as { createProcessedFilter: typeof CreateProcessedFilter };
    const { storage, file } = await storeWith(['done-1'], []);
    const filter = createProcessedFilter(
      { mainFile: file, logFile: logFileOf(file), consumer: CONSUMER, minKeys: 100 },
      pino({ level: 'silent' }),
    );
    try {
      filter.maybeProcessed(SOURCE, []); // the first use
      await vi.waitFor(() => expect(filter.state().ready).toBe(true), { timeout: 10_000 });
      const first = filter.state().capacity;
      expect(first).toBeLessThan(1000);
      const added = Array.from({ length: 3 * first }, (_, i) => `added-${i}`);
      // In requests of 100, as the ingest service adds them; the store has them once appended and processed.
      for (let i = 0; i < added.length; i += 100) {
        const part = added.slice(i, i + 100);
        filter.add(SOURCE, part);
        await storage.processed.insert(
          part.map((messageId) => ({ sourceId: SOURCE, messageId, eventId: null, processedAt: Date.now() })),
        );
      }
      await vi.waitFor(() => expect(filter.state().capacity).toBeGreaterThan(first), { timeout: 10_000 });
      expect(filter.maybeProcessed(SOURCE, ['done-1', ...added])).toHaveLength(added.length + 1);
    } finally {
      await filter.stop();
      await storage.close();
    }
  });

  it('a store it cannot read leaves every check to the store', async () => {
    const { createProcessedFilter } = (await import(BUILT)) as { createProcessedFilter: typeof CreateProcessedFilter };
    dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-seen-'));
    const filter = createProcessedFilter(
      { mainFile: path.join(dir, 'missing.db'), logFile: path.join(dir, 'missing-log.db'), consumer: CONSUMER },
      pino({ level: 'silent' }),
    );
    filter.add(SOURCE, ['y']); // the first use
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(filter.state().ready).toBe(false);
    expect(filter.maybeProcessed(SOURCE, ['x'])).toBeUndefined();
    filter.add(SOURCE, ['x']); // nothing to add to
    await filter.stop();
  });
});

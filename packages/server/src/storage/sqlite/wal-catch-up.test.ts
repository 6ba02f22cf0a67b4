import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from './create-sqlite-database.js';
import { checkpointBetweenTransactions, walCatchUp } from './wal-catch-up.js';

describe('walCatchUp', () => {
  it('checkpoints every `everyMs`, and `retryMs` after one that did not catch the WAL up or failed', () => {
    let now = 0;
    const answers: (boolean | Error)[] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const afterTransaction = walCatchUp(
      () => {
        calls++;
        const answer = answers.shift() ?? true;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      { everyMs: 1000, retryMs: 100 },
      (e) => errors.push(e),
      () => now,
    );
    const at = (t: number) => {
      now = t;
      afterTransaction();
      return calls;
    };
    expect(at(0)).toBe(0);
    expect(at(999)).toBe(0);
    expect(at(1000)).toBe(1); // due: caught up
    expect(at(1500)).toBe(1);
    answers.push(false, false);
    expect(at(2000)).toBe(2); // due, but not caught up
    expect(at(2099)).toBe(2);
    expect(at(2100)).toBe(3); // retried, still not
    expect(at(2200)).toBe(4); // caught up at 2200
    expect(at(3199)).toBe(4);
    expect(at(3200)).toBe(5);
    const failure = new Error('disk I/O error');
    answers.push(failure, failure);
    expect(at(4200)).toBe(6);
    expect(at(4300)).toBe(7); // failed twice: reported once
    expect(errors).toEqual([failure]);
    expect(at(4400)).toBe(8); // caught up
    answers.push(failure);
    expect(at(5400)).toBe(9); // a new run of failures is reported again
    expect(errors).toEqual([failure, failure]);
  });
});

describe('checkpointBetweenTransactions (the pragma answering)', () => {
  const answering = (answer: () => unknown) =>
    ({ inTransaction: false, pragma: answer }) as unknown as Parameters<typeof checkpointBetweenTransactions>[0];

  it.each([
    ['every frame copied', { busy: 0, log: 27, checkpointed: 27 }, true],
    ['an empty WAL', { busy: 0, log: 0, checkpointed: 0 }, true],
    ['frames a reader still needs', { busy: 0, log: 54, checkpointed: 27 }, false],
    ['another checkpoint holding the lock', { busy: 1, log: -1, checkpointed: -1 }, false],
  ])('%s → %s', (_what, row, caughtUp) => {
    expect(checkpointBetweenTransactions(answering(() => [row]))).toBe(caughtUp);
  });

  it('reports a connection in use as not caught up, and throws any other error', () => {
    const locked = Object.assign(new Error('database table is locked'), { code: 'SQLITE_LOCKED' });
    expect(
      checkpointBetweenTransactions(
        answering(() => {
          throw locked;
        }),
      ),
    ).toBe(false);
    expect(
      checkpointBetweenTransactions(
        answering(() => {
          throw new TypeError('This database connection is busy executing a query');
        }),
      ),
    ).toBe(false);
    const io = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    expect(() =>
      checkpointBetweenTransactions(
        answering(() => {
          throw io;
        }),
      ),
    ).toThrow(io);
  });
});

describe('checkpointBetweenTransactions (a real WAL file)', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function store() {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-wal-catch-up-'));
    const file = path.join(dir, 'tessera.db');
    // As beside the writer thread: no checkpoint inside a commit.
    const db = openSqlite({ file, externalCheckpoints: true });
    db.raw.exec('create table t (id integer primary key, v text)');
    const insert = db.raw.prepare('insert into t (v) values (?)');
    // About 25 pages a transaction.
    const write = db.raw.transaction(() => {
      for (let j = 0; j < 100; j++) insert.run('x'.repeat(1000));
    });
    return { db, wal: () => statSync(`${file}-wal`).size, write };
  }

  it('lets the WAL start over, where without it every commit appends to it', async () => {
    const { db, wal, write } = store();
    for (let i = 0; i < 40; i++) write();
    const grown = wal();
    expect(grown).toBeGreaterThan(3_000_000);

    const afterTransaction = walCatchUp(
      () => checkpointBetweenTransactions(db.raw),
      { everyMs: 0, retryMs: 0 },
      (e) => {
        throw e;
      },
    );
    afterTransaction(); // copies the 40 transactions: the next one starts the WAL over
    for (let i = 0; i < 40; i++) {
      write();
      afterTransaction();
    }
    // The file keeps its size (a restart overwrites it from the start): it did not grow by another 40 transactions.
    expect(wal()).toBeLessThanOrEqual(grown);
    // And the WAL holds one transaction's frames (about 26), not the 40 transactions' (over 1,000).
    const [row] = db.raw.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    expect(row.log).toBeGreaterThan(0);
    expect(row.log).toBeLessThan(100);
    expect((db.raw.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(8000);
    await db.db.destroy();
  });

  it('does nothing inside a transaction, and reports a WAL a reader still needs as not caught up', async () => {
    const { db, write } = store();
    write();
    db.raw.exec('begin');
    expect(checkpointBetweenTransactions(db.raw)).toBe(false);
    db.raw.exec('commit');
    expect(checkpointBetweenTransactions(db.raw)).toBe(true);

    // A reader's snapshot, taken before the next write, keeps that write's frames from being copied.
    const reader = openSqlite({ file: path.join(dir, 'tessera.db'), readonly: true });
    reader.raw.exec('begin');
    reader.raw.prepare('select count(*) from t').get();
    write();
    expect(checkpointBetweenTransactions(db.raw)).toBe(false);
    reader.raw.exec('commit');
    expect(checkpointBetweenTransactions(db.raw)).toBe(true);
    await reader.db.destroy();
    await db.db.destroy();
  });
});

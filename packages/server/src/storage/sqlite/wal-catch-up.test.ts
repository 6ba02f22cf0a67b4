import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from './create-sqlite-database.js';
import { checkpointBetweenTransactions, walCatchUp } from './wal-catch-up.js';

describe('walCatchUp', () => {
  it('checkpoints at most every `everyMs`, and after each call again until one catches the WAL up', () => {
    let now = 0;
    const answers: boolean[] = [];
    let calls = 0;
    const afterTransaction = walCatchUp(
      () => {
        calls++;
        return answers.shift() ?? true;
      },
      1000,
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
    expect(at(2000)).toBe(2); // due, but busy
    expect(at(2001)).toBe(3); // tried again at once, still busy
    expect(at(2002)).toBe(4); // caught up at 2002
    expect(at(3001)).toBe(4);
    expect(at(3002)).toBe(5);
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

    const afterTransaction = walCatchUp(() => checkpointBetweenTransactions(db.raw), 0);
    afterTransaction(); // copies the 40 transactions: the next one starts the WAL over
    for (let i = 0; i < 40; i++) {
      write();
      afterTransaction();
    }
    // The file keeps its size (a restart overwrites it from the start): it did not grow by another 40 transactions.
    expect(wal()).toBeLessThanOrEqual(grown);
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

    // A reader's snapshot holds the frames committed after it began.
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

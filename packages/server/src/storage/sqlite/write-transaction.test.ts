import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newUuid } from '../../ids.js';
import type { Storage } from '../storage.js';
import { isTransientStoreError } from '../transient.js';
import { createSqliteStorage } from './create-sqlite-storage.js';

/**
 * Write transactions beside another writing connection (embedded mode: a management write on the main thread while
 * the writer thread runs the pipeline). SQLite in WAL mode fails a transaction that read, then writes after another
 * connection committed (`SQLITE_BUSY_SNAPSHOT`, no waiting); `transaction(fn, { write: true })` takes the write lock
 * at its start instead.
 */
describe('SQLite write transactions', () => {
  let dir: string;
  let store: Storage;
  let other: BetterSqlite3.Database;
  const profile = () => {
    const id = newUuid();
    return { id, createdAt: 1, updatedAt: 1, traits: {}, traitTimes: {} };
  };
  /** A commit by the other connection, as the writer thread's batch would make. */
  const otherWrites = () =>
    other
      .prepare('insert into profiles (id, created_at, updated_at, traits, trait_times) values (?, 1, 1, ?, ?)')
      .run(newUuid(), '{}', '{}');

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tessera-write-tx-'));
    store = createSqliteStorage({ file: path.join(dir, 'tessera.db') });
    await store.migrate();
    other = new BetterSqlite3(path.join(dir, 'tessera.db'));
    other.pragma('busy_timeout = 0');
  });
  afterEach(async () => {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a plain transaction that read fails at its first write when the other connection committed meanwhile', async () => {
    const failure = await store
      .transaction(async (tx) => {
        await tx.profiles.count();
        otherWrites();
        await tx.profiles.create(profile());
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    // A pipeline batch that fails so is run again, never quarantined.
    expect(isTransientStoreError(failure)).toBe(true);
    expect(isTransientStoreError(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }))).toBe(false);
  });

  it('a write transaction holds the write lock from its start: the other connection waits, this one commits', async () => {
    const p = profile();
    await store.transaction(
      async (tx) => {
        await tx.profiles.count();
        expect(otherWrites).toThrow(/locked|busy/i);
        await tx.profiles.create(p);
      },
      { write: true },
    );
    expect(await store.profiles.get([p.id])).toHaveLength(1);
    otherWrites();
    expect(await store.profiles.count()).toBe(2);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { sqliteDialect } from './dialect.js';
import { migrationStatements } from './migrate.js';
import { PERSON_OWNED_TABLES } from './schema.js';

/** Guards DESIGN §11: every table that holds a person's data is on the list erasure walks. */
describe('PERSON_OWNED_TABLES', () => {
  let tables: Map<string, string[]>;
  beforeEach(() => {
    // Read the columns from the DDL itself (both schemas), so a new migration is covered without a running store.
    tables = new Map();
    const { log, main } = migrationStatements(sqliteDialect);
    for (const statement of [...log, ...main]) {
      const m = /^create table (\w+) \((.*)\)/.exec(statement);
      if (!m) continue;
      tables.set(
        m[1],
        m[2].split(',').map((c) => c.trim().split(' ')[0]),
      );
    }
  });
  it('lists every table with a profile_id column (a new person-owned table must be added to the erasure list)', () => {
    const withProfile = [...tables]
      .filter(([, cols]) => cols.includes('profile_id') || cols.includes('survivor_id'))
      .map(([t]) => t);
    expect(withProfile.length).toBeGreaterThan(5);
    const missing = withProfile.filter((t) => !PERSON_OWNED_TABLES.includes(t as never));
    expect(missing).toEqual([]);
  });

  it('names only tables that exist', () => {
    const unknown = PERSON_OWNED_TABLES.filter((t) => !tables.has(t));
    expect(unknown).toEqual([]);
  });
});

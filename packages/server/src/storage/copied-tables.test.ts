import { describe, expect, it } from 'vitest';
import { COPIED_TABLES } from './copied-tables.js';
import { postgresDialect } from './dialect.js';
import { migrationStatements } from './migrate.js';

/** Columns of each table, read from the PostgreSQL DDL of both migrations (a new migration is covered at once). */
function tablesOf(statements: string[]): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  for (const statement of statements) {
    const m = /^create table (\w+) \((.*)\)/.exec(statement);
    if (m) tables.set(m[1], m[2].split(', '));
  }
  return tables;
}

/** Guards `tessera copy`: a table or a JSON column the copy does not know would be lost or mangled. */
describe('COPIED_TABLES', () => {
  const log = tablesOf(migrationStatements(postgresDialect).log);
  const main = tablesOf(migrationStatements(postgresDialect).main);

  it('lists every table of both migrations once, in the file that holds it', () => {
    const listed = COPIED_TABLES.map((t) => `${t.file}:${t.name}`).sort();
    const expected = [...[...log.keys()].map((t) => `log:${t}`), ...[...main.keys()].map((t) => `main:${t}`)].sort();
    expect(listed).toEqual(expected);
  });

  it('names exactly the JSONB columns of each table as JSON', () => {
    for (const t of COPIED_TABLES) {
      const columns = (log.get(t.name) ?? main.get(t.name) ?? []).filter((c) => c.split(' ')[1] === 'jsonb');
      expect({ table: t.name, json: [...t.json].sort() }).toEqual({
        table: t.name,
        json: columns.map((c) => c.split(' ')[0]).sort(),
      });
    }
  });

  it('names the generated key of each table that has one, and a consumer-offset column that exists', () => {
    for (const t of COPIED_TABLES) {
      const columns = log.get(t.name) ?? main.get(t.name) ?? [];
      const generated = columns
        .filter((c) => / bigserial|generated always as identity/.test(c))
        .map((c) => c.split(' ')[0]);
      expect({ table: t.name, serial: t.serial?.column }).toEqual({ table: t.name, serial: generated[0] });
      if (t.serial) {
        const offsets = main.get(t.serial.offsets.table) ?? [];
        expect(offsets.map((c) => c.split(' ')[0])).toContain(t.serial.offsets.column);
      }
    }
  });
});

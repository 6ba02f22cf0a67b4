import { readFileSync } from 'node:fs';
import { ERROR_CODES, QUARANTINE_CODES } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';

/**
 * Guards `docs/errors.md` against the closed lists of codes (STYLE #8): every code of `ERROR_CODES` and of
 * `QUARANTINE_CODES` must be documented there as `` `code` `` in a table row of its own, and each HTTP error code's
 * row must give the status `ERROR_CODES` maps it to.
 */
const repoRoot = new URL('../../../../', import.meta.url);
const doc = readFileSync(new URL('docs/errors.md', repoRoot), 'utf8');

/** The cells of a Markdown table row, trimmed; none for any other line. */
function cellsOf(line: string): string[] {
  const row = line.trim();
  if (!row.startsWith('|') || !row.endsWith('|')) return [];
  return row
    .slice(1, -1)
    .split('|')
    .map((cell) => cell.trim());
}

/** Table rows whose first cell is a code in backticks: code → the cells of each such row. */
const rows = new Map<string, string[][]>();
for (const line of doc.split('\n')) {
  const cells = cellsOf(line);
  const code = /^`([a-z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
  if (code) rows.set(code, [...(rows.get(code) ?? []), cells]);
}

describe('docs/errors.md documents every error code', () => {
  it.each(Object.entries(ERROR_CODES))('`%s` (HTTP %i)', (code, status) => {
    expect(doc, `docs/errors.md does not mention \`${code}\``).toContain(`\`${code}\``);
    const statuses = (rows.get(code) ?? []).map((cells) => cells[1]);
    expect(statuses, `docs/errors.md has no table row "| \`${code}\` | ${status} | …"`).toContain(String(status));
  });
});

describe('docs/errors.md documents every quarantine code', () => {
  it.each([...QUARANTINE_CODES])('`%s`', (code) => {
    expect(doc, `docs/errors.md does not mention \`${code}\``).toContain(`\`${code}\``);
    expect(rows.has(code), `docs/errors.md has no table row starting with \`${code}\``).toBe(true);
  });
});

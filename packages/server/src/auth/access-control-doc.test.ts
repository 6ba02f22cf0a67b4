import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../test/cli-run.js';
import { PERMISSIONS, rolesAllow } from './permissions.js';
import { ROLES } from './principal.js';

/** docs/access-control.md's permission table is the code's (`auth/permissions.ts`), row for row. */
describe('docs/access-control.md', () => {
  it('shows the permission table as the code has it', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/access-control.md'), 'utf8');
    const table = doc.slice(
      doc.indexOf('<!-- permission-table:start -->'),
      doc.indexOf('<!-- permission-table:end -->'),
    );
    const rows = table
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split('|').map((c) => c.trim()));
    const expected = (Object.keys(PERMISSIONS) as (keyof typeof PERMISSIONS)[]).map((p) => [
      '',
      `\`${p}\``,
      ...ROLES.map((r) => (rolesAllow([r], p) ? 'yes' : '')),
      '',
    ]);
    expect(rows).toEqual(expected);
  });
});

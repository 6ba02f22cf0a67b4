import { describe, expect, it } from 'vitest';
import type { RecordItem } from './record-item.js';
import { selectRecords } from './select-records.js';

describe('selectRecords (webhook bodies and JSON documents)', () => {
  const body = { event: 'orders.paid', items: [{ id: 1 }, { id: 2 }], customer: { id: 'c1' }, list: [null, 'x', [1]] };
  const cases: [string, unknown, string | undefined, RecordItem[]][] = [
    ['an object body is one record', body, undefined, [{ line: 1, record: body }]],
    [
      'an array body gives its elements',
      [{ a: 1 }, { a: 2 }],
      undefined,
      [
        { line: 1, record: { a: 1 } },
        { line: 2, record: { a: 2 } },
      ],
    ],
    [
      'records: $.items[*]',
      body,
      '$.items[*]',
      [
        { line: 1, record: { id: 1 } },
        { line: 2, record: { id: 2 } },
      ],
    ],
    ['records: a single object', body, '$.customer', [{ line: 1, record: { id: 'c1' } }]],
    ['records: no match', body, '$.nothing[*]', []],
    ['records: a filter', body, '$.items[?(@.id > 1)]', [{ line: 1, record: { id: 2 } }]],
    [
      'non-objects are errors',
      body,
      '$.list[*]',
      [
        { line: 1, error: 'record is null, not a JSON object' },
        { line: 2, error: 'record is a string, not a JSON object' },
        { line: 3, error: 'record is an array, not a JSON object' },
      ],
    ],
    ['a scalar body is an error', 42, undefined, [{ line: 1, error: 'record is a number, not a JSON object' }]],
  ];
  it.each(cases)('%s', (_, document, path, expected) => {
    expect(selectRecords(document, path)).toEqual(expected);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraError } from '../errors.js';
import { type ReadOptions, readRecords } from './read-records.js';
import type { RecordItem } from './record-item.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-read-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(name: string, content: string | Buffer, opts?: ReadOptions): Promise<RecordItem[]> {
  const path = join(dir, name);
  await writeFile(path, content);
  const items: RecordItem[] = [];
  for await (const item of readRecords(path, opts)) items.push(item);
  return items;
}

describe('readRecords CSV', () => {
  const cases: [string, string, string | Buffer, ReadOptions | undefined, RecordItem[]][] = [
    [
      'a plain comma file',
      'a.csv',
      'id,name\n1,Ada\n2,Bob\n',
      undefined,
      [
        { line: 2, record: { id: '1', name: 'Ada' } },
        { line: 3, record: { id: '2', name: 'Bob' } },
      ],
    ],
    [
      'a UTF-8 BOM is removed from the first header',
      'bom.csv',
      '\uFEFFid,name\n1,Ada\n',
      undefined,
      [{ line: 2, record: { id: '1', name: 'Ada' } }],
    ],
    [
      'a UTF-16LE file with BOM',
      'utf16.csv',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id;name\n1;Zoë\n', 'utf16le')]),
      undefined,
      [{ line: 2, record: { id: '1', name: 'Zoë' } }],
    ],
    [
      'CRLF line endings and no final newline',
      'crlf.csv',
      'id,name\r\n1,Ada\r\n2,Bob',
      undefined,
      [
        { line: 2, record: { id: '1', name: 'Ada' } },
        { line: 3, record: { id: '2', name: 'Bob' } },
      ],
    ],
    [
      'a detected ; delimiter, with commas in values',
      'semi.csv',
      'id;amount\n1;12,50\n',
      undefined,
      [{ line: 2, record: { id: '1', amount: '12,50' } }],
    ],
    [
      'a detected tab delimiter',
      'tab.csv',
      'id\tname\n1\tAda, Countess\n',
      undefined,
      [{ line: 2, record: { id: '1', name: 'Ada, Countess' } }],
    ],
    [
      'a .tsv defaults to tab',
      'a.tsv',
      'id\tnote\n1\ta;b;c\n',
      undefined,
      [{ line: 2, record: { id: '1', note: 'a;b;c' } }],
    ],
    [
      'an explicit delimiter wins over detection',
      'pipe.csv',
      'id|name\n1|Ada\n',
      { csv: { delimiter: '|' } },
      [{ line: 2, record: { id: '1', name: 'Ada' } }],
    ],
    [
      'a quoted header with the delimiter inside',
      'qh.csv',
      '"a;b",c;d\n1,2\n',
      undefined,
      [{ line: 2, record: { 'a;b': '1', 'c;d': '2' } }],
    ],
    [
      'another quote character',
      'sq.csv',
      "id,name\n1,'Ada, Countess'\n",
      { csv: { quote: "'" } },
      [{ line: 2, record: { id: '1', name: 'Ada, Countess' } }],
    ],
    [
      'latin1 encoding',
      'l1.csv',
      Buffer.from('id,name\n1,Zoë\n', 'latin1'),
      { csv: { encoding: 'latin1' } },
      [{ line: 2, record: { id: '1', name: 'Zoë' } }],
    ],
    [
      'quoted newlines move the next lines down',
      'nl.csv',
      'id,note,x\n1,"two\nlines",a\n2,"three\r\nlines\nhere",b\n3,"",c\n',
      undefined,
      [
        { line: 2, record: { id: '1', note: 'two\nlines', x: 'a' } },
        { line: 4, record: { id: '2', note: 'three\r\nlines\nhere', x: 'b' } },
        { line: 7, record: { id: '3', note: '', x: 'c' } },
      ],
    ],
    [
      'blank lines are skipped but counted',
      'blank.csv',
      'id,name\n\n1,Ada\n\n\n2,Bob\n\n',
      undefined,
      [
        { line: 3, record: { id: '1', name: 'Ada' } },
        { line: 6, record: { id: '2', name: 'Bob' } },
      ],
    ],
    ['a header-only file has no records', 'empty.csv', 'id,name\n', undefined, []],
  ];
  it.each(cases)('%s', async (_, name, content, opts, expected) => {
    expect(await read(name, content, opts)).toEqual(expected);
  });

  it('reports rows with the wrong field count at their start line and goes on', async () => {
    const content = [
      '\uFEFFid;name;note', // 1
      '1;Ada;ok', // 2
      '2;Bob', // 3: too few
      '3;"Cy', // 4: a record spanning lines 4-5 ...
      'Two";x;extra', // 5: ... with too many fields
      '4;"Di', // 6
      'Multi";fine', // 7
      '5;Ed;ok;;', // 8: too many
      '6;Flo;ok', // 9
    ].join('\n');
    expect(await read('bad.csv', content)).toEqual([
      { line: 2, record: { id: '1', name: 'Ada', note: 'ok' } },
      { line: 3, error: 'expected 3 fields (one per header column), got 2' },
      { line: 4, error: 'expected 3 fields (one per header column), got 4' },
      { line: 6, record: { id: '4', name: 'Di\nMulti', note: 'fine' } },
      { line: 8, error: 'expected 3 fields (one per header column), got 5' },
      { line: 9, record: { id: '6', name: 'Flo', note: 'ok' } },
    ]);
  });

  it.each([
    [
      'CRLF records with CRLF and LF inside quotes',
      'a,b\r\n1,"x\r\ny"\r\n\r\n2,3\r\n4,"p\nq"\r\n5\r\n6,7',
      [2, 5, 6, 8, 9],
    ],
    ['LF records with CRLF inside quotes', 'a,b\n1,"x\r\ny"\n\n2,"u\r\nv\r\nw"\n3,4\n', [2, 5, 8]],
    ['a quoted newline in the header', '"a\nA",b\n1,2\n3\n4,5\n', [3, 4, 5]],
  ])('finds start lines with %s', async (_, content, lines) => {
    expect((await read('eol.csv', content)).map((item) => item.line)).toEqual(lines);
  });

  it('finds start lines in generated files with mixed quoted newlines', async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let file = 0; file < 20; file++) {
      const eol = file % 2 === 0 ? '\r\n' : '\n';
      let text = `id,note${eol}`;
      let line = 2;
      const expected: number[] = [];
      for (let row = 0; row < 15; row++) {
        while (random() < 0.2) {
          text += eol;
          line++;
        }
        const breaks = Math.floor(random() * 3);
        const note = Array.from({ length: breaks + 1 }, (_, i) => `part${i}`).join(random() < 0.5 ? '\n' : '\r\n');
        const bad = random() < 0.15;
        expected.push(line);
        text += `${row},"${note}"${bad ? ',extra' : ''}${eol}`;
        line += breaks + 1;
      }
      const items = await read(`gen-${file}.csv`, text);
      expect(
        items.map((item) => item.line),
        `file ${file}`,
      ).toEqual(expected);
    }
  });

  it('keeps order and line numbers across stream chunks', async () => {
    const rows: string[] = ['id,note,amount'];
    const expected: RecordItem[] = [];
    let line = 2;
    for (let i = 0; i < 6000; i++) {
      const bad = i % 250 === 7;
      const note = i % 9 === 0 ? `"first\r\nsecond ${i}"` : `note ${i}`;
      rows.push(bad ? `${i},${note}` : `${i},${note},${i}.5`);
      expected.push(
        bad
          ? { line, error: 'expected 3 fields (one per header column), got 2' }
          : { line, record: { id: String(i), note: note.replace(/"/g, ''), amount: `${i}.5` } },
      );
      line += i % 9 === 0 ? 2 : 1;
    }
    expect(await read('big.csv', `${rows.join('\r\n')}\r\n`)).toEqual(expected);
  });

  it('can be left early', async () => {
    await writeFile(join(dir, 'early.csv'), `a\n${'x\n'.repeat(50_000)}`);
    let seen = 0;
    for await (const _ of readRecords(join(dir, 'early.csv'))) if (++seen === 3) break;
    expect(seen).toBe(3);
  });

  it('reports a bad last row after the good ones', async () => {
    expect(await read('badlast.csv', 'a,b\n1,2\n3\n')).toEqual([
      { line: 2, record: { a: '1', b: '2' } },
      { line: 3, error: 'expected 2 fields (one per header column), got 1' },
    ]);
  });

  it('reports a malformed quote and goes on', async () => {
    const items = await read('quote.csv', 'a,b\n1,x"y"z\n2,ok\n');
    expect(items[0]).toMatchObject({ line: 2, error: expect.stringMatching(/quote/i) });
    expect(items.at(-1)).toEqual({ line: 3, record: { a: '2', b: 'ok' } });
  });

  it('rejects an unknown encoding', async () => {
    await expect(read('enc.csv', 'a\n1\n', { csv: { encoding: 'klingon' } })).rejects.toThrow(TesseraError);
  });
});

describe('readRecords NDJSON', () => {
  it('reads objects line by line, reporting bad lines and skipping blank ones', async () => {
    const content = '\uFEFF{"id":1}\n\n{"id":2,"tags":["a"]}\r\n{broken\n[1,2]\n"text"\n  \n{"id":3}';
    expect(await read('events.ndjson', content)).toEqual([
      { line: 1, record: { id: 1 } },
      { line: 3, record: { id: 2, tags: ['a'] } },
      { line: 4, error: expect.stringMatching(/^invalid JSON: /) },
      { line: 5, error: 'line is valid JSON but not an object' },
      { line: 6, error: 'line is valid JSON but not an object' },
      { line: 8, record: { id: 3 } },
    ]);
  });

  it('reads .jsonl too', async () => {
    expect(await read('events.jsonl', '{"a":1}\n')).toEqual([{ line: 1, record: { a: 1 } }]);
  });
});

describe('readRecords JSON', () => {
  const doc = JSON.stringify({ meta: { page: 1 }, items: [{ id: 'a' }, { id: 'b' }, 7] });
  const cases: [string, string, ReadOptions | undefined, RecordItem[]][] = [
    [
      'an array document',
      '[{"id":"a"},{"id":"b"}]',
      undefined,
      [
        { line: 1, record: { id: 'a' } },
        { line: 2, record: { id: 'b' } },
      ],
    ],
    ['an object document is one record', '{"id":"a"}', undefined, [{ line: 1, record: { id: 'a' } }]],
    [
      'a records JSONPath',
      doc,
      { records: '$.items[*]' },
      [
        { line: 1, record: { id: 'a' } },
        { line: 2, record: { id: 'b' } },
        { line: 3, error: 'record is a number, not a JSON object' },
      ],
    ],
    ['a records JSONPath with no match', doc, { records: '$.orders[*]' }, []],
    [
      'an invalid document',
      '{\n "a": 1,\n oops\n}',
      undefined,
      [{ line: 3, error: expect.stringMatching(/^invalid JSON document/) }],
    ],
  ];
  it.each(cases)('%s', async (_, content, opts, expected) => {
    expect(await read('doc.json', content, opts)).toEqual(expected);
  });
});

describe('readRecords format', () => {
  it('takes the format option over the extension', async () => {
    expect(await read('export.txt', 'a,b\n1,2\n', { format: 'csv' })).toEqual([
      { line: 2, record: { a: '1', b: '2' } },
    ]);
  });

  it('throws on an unknown extension without a format', () => {
    expect(() => readRecords(join(dir, 'export.xlsx'))).toThrow(/set format/);
  });
});

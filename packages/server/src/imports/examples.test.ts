import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TrackingEvent } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { applyMapping } from './apply-mapping.js';
import { deriveMessageId, fileIdentity } from './derive-message-id.js';
import { readRecords } from './read-records.js';
import { parseMapping } from './validate-mapping.js';

const examples = fileURLToPath(new URL('../../../../examples/', import.meta.url));
const now = new Date('2024-06-01T00:00:00.000Z');
const trackingEvent = TypeCompiler.Compile(TrackingEvent);

/** What importing each example must report: the number of calls and the problems, by line. */
const EXPECTED: Record<string, { calls: number; problems: { line: number; field: string }[] }> = {
  crm: { calls: 6, problems: [{ line: 8, field: 'record' }] },
  orders: { calls: 5, problems: [{ line: 6, field: 'properties.total' }] },
  loyalty: { calls: 2, problems: [{ line: 3, field: 'identifiers' }] },
};

interface Outcome {
  calls: { line: number; call: Record<string, unknown> }[];
  problems: { line: number; field: string; message: string }[];
}

/** A small `tessera import`: what the CLI does with a mapping and a file. */
async function importExample(mappingFile: string, dataFile: string): Promise<Outcome> {
  const mapping = parseMapping(JSON.parse(await readFile(examples + mappingFile, 'utf8')));
  const fileId = await fileIdentity(examples + dataFile);
  const outcome: Outcome = { calls: [], problems: [] };
  for await (const { line, record, error } of readRecords(examples + dataFile, mapping)) {
    if (record === undefined) {
      outcome.problems.push({ line, field: 'record', message: error ?? '' });
      continue;
    }
    const defaultMessageId = deriveMessageId(['src_example', fileId, String(line)]);
    const result = applyMapping(mapping, record, { defaultMessageId, now });
    if (result.ok) outcome.calls.push({ line, call: result.call });
    else outcome.problems.push({ line, field: result.field, message: result.message });
  }
  return outcome;
}

describe('examples/', async () => {
  const files = await readdir(examples);
  const mappings = files.filter((f) => f.endsWith('-mapping.json'));

  it('has the documented examples', () => {
    expect(mappings.sort()).toEqual(expect.arrayContaining(['crm-mapping.json', 'orders-mapping.json']));
  });

  it.each(mappings)('%s parses and maps its data file', async (mappingFile) => {
    const prefix = mappingFile.slice(0, -'-mapping.json'.length);
    const data = files.filter(
      (f) => !f.endsWith('-mapping.json') && (f.startsWith(`${prefix}-`) || f.startsWith(`${prefix}.`)),
    );
    expect(data, `one data file for ${mappingFile}`).toHaveLength(1);
    const outcome = await importExample(mappingFile, data[0]);
    for (const { call } of outcome.calls) expect(trackingEvent.Check(call), JSON.stringify(call)).toBe(true);
    const expected = EXPECTED[prefix] ?? { calls: outcome.calls.length, problems: [] };
    expect(outcome.calls.length).toBe(expected.calls);
    expect(outcome.problems.map(({ line, field }) => ({ line, field }))).toEqual(expected.problems);
  });

  it('crm-export.csv: BOM, quoted newline, consent and identifier routing', async () => {
    const { calls, problems } = await importExample('crm-mapping.json', 'crm-export.csv');
    expect(calls.map((c) => c.line)).toEqual([2, 3, 4, 6, 7, 9]);
    expect(calls[0].call).toEqual({
      type: 'identify',
      messageId: deriveMessageId(['src_example', await fileIdentity(`${examples}crm-export.csv`), '2']),
      timestamp: now.toISOString(),
      traits: {
        firstName: 'Marie',
        lastName: 'Dupont',
        createdAt: '2021-03-14T09:02:00.000Z',
        source: 'crm',
        email: 'marie.dupont@example.com',
        phone: '+33 6 12 34 56 78',
      },
      context: {
        externalIds: [{ type: 'crm_id', id: 'C-10042' }],
        consent: { categoryPreferences: { newsletter: true } },
      },
    });
    expect(calls[2].call.traits).toMatchObject({ firstName: 'Anne-Sophie\n(Sophie)', phone: '+33 7 98 76 54 32' });
    expect(calls[2].call.traits).not.toHaveProperty('email');
    expect(calls[3].call.context).not.toHaveProperty('consent');
    expect(calls[5].call.traits).toMatchObject({ lastName: "O'Brien; Jr" });
    expect(problems[0].message).toBe('expected 7 fields (one per header column), got 6');
  });

  it('orders.csv: message ids from a column, dates, numbers and JSON', async () => {
    const { calls, problems } = await importExample('orders-mapping.json', 'orders.csv');
    expect(calls.map((c) => c.call.messageId)).toEqual([
      'SO-2024-0001',
      'SO-2024-0002',
      'SO-2024-0003',
      'SO-2024-0005',
      'SO-2024-0006',
    ]);
    expect(calls[1].call).toMatchObject({
      event: 'Order Completed',
      timestamp: '2024-03-02T14:03:00.000Z',
      properties: {
        total: 24.5,
        products: [{ sku: 'MUG-02', quantity: 1, price: 24.5 }],
        gift_message: 'Happy birthday Jean!\nLove, Claire',
      },
      context: { externalIds: [{ type: 'crm_id', id: 'C-10043' }] },
    });
    expect(calls[2].call.context).toEqual({ traits: { email: 'guest.buyer@example.com' } });
    expect(problems[0].message).toMatch(/^properties\.total is not a number/);
  });
});

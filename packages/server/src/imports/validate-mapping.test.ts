import { describe, expect, it } from 'vitest';
import { TesseraError } from '../errors.js';
import { parseMapping } from './validate-mapping.js';

describe('parseMapping', () => {
  const valid: [string, unknown][] = [
    ['a minimal identify', { type: 'identify', identifiers: { email: 'Email' } }],
    [
      'a full track',
      {
        format: 'csv',
        csv: { delimiter: ';', quote: '"', encoding: 'latin1' },
        type: 'track',
        event: { const: 'Order Completed' },
        messageId: 'Order ID',
        timestamp: { from: 'Date', type: 'date' },
        identifiers: { user_id: 'Customer', crm_id: '$.crm' },
        traits: { plan: { from: 'Plan', default: 'free' } },
        properties: { total: { from: 'Total', type: 'number', default: '0' } },
        consent: { marketing: { from: 'Opt-in', default: 'no' } },
      },
    ],
    ['a group', { type: 'group', groupId: 'Account', identifiers: { user_id: 'User' } }],
    ['a page with a name', { type: 'page', name: 'Page', identifiers: { anonymous_id: 'Anon' } }],
    ['a webhook with records', { type: 'identify', records: '$.items[*]', identifiers: { wallet: '$.address' } }],
  ];
  it.each(valid)('accepts %s', (_, json) => {
    expect(parseMapping(json)).toEqual(json);
  });

  it('returns a copy', () => {
    const json = { type: 'identify', identifiers: { email: 'Email' } };
    const mapping = parseMapping(json);
    json.identifiers.email = 'changed';
    expect(mapping.identifiers.email).toBe('Email');
  });

  const base = { type: 'identify', identifiers: { email: 'Email' } };
  const invalid: [string, unknown, string, RegExp][] = [
    ['not an object', 'nope', '(root)', /expected object/],
    ['no type', { identifiers: {} }, 'type', /required/],
    ['an unknown type', { ...base, type: 'screen' }, 'type', /one of "identify", "track", "group", "page"/],
    ['an unknown top-level field', { ...base, propertes: {} }, 'propertes', /unexpected property/],
    ['no identifiers', { type: 'identify' }, 'identifiers', /required/],
    ['empty identifiers', { type: 'identify', identifiers: {} }, 'identifiers', /at least one/],
    [
      'an identifier type not in snake_case',
      { type: 'identify', identifiers: { Email: 'Email' } },
      'identifiers.Email',
      /snake_case/,
    ],
    ['a number as a field ref', { ...base, traits: { age: 5 } }, 'traits.age', /column name, a JSONPath/],
    ['an empty field ref', { ...base, traits: { age: '' } }, 'traits.age', /column name, a JSONPath/],
    [
      'an unknown conversion',
      { ...base, traits: { age: { from: 'Age', type: 'integer' } } },
      'traits.age.type',
      /one of "string"/,
    ],
    [
      'an unknown key in a field ref',
      { ...base, traits: { age: { column: 'Age' } } },
      'traits.age.column',
      /unexpected property/,
    ],
    [
      'a field ref with neither from nor const',
      { ...base, traits: { age: { type: 'number' } } },
      'traits.age',
      /"from".*or "const"/,
    ],
    ['a field ref with from and const', { ...base, traits: { a: { from: 'A', const: 1 } } }, 'traits.a', /not both/],
    ['a default beside const', { ...base, traits: { a: { const: 1, default: 2 } } }, 'traits.a', /never used/],
    [
      'a default that does not convert',
      { ...base, traits: { a: { from: 'A', type: 'number', default: 'x' } } },
      'traits.a',
      /default is not a number/,
    ],
    [
      'a consent const that is not boolean',
      { ...base, consent: { ads: { const: 'maybe' } } },
      'consent.ads',
      /const is not a boolean/,
    ],
    ['a timestamp const that is not a date', { ...base, timestamp: { const: 'soon' } }, 'timestamp', /not a date/],
    ['track without event', { type: 'track', identifiers: { user_id: 'U' } }, 'event', /required when type is "track"/],
    [
      'group without groupId',
      { type: 'group', identifiers: { user_id: 'U' } },
      'groupId',
      /required when type is "group"/,
    ],
    ['event on identify', { ...base, event: 'E' }, 'event', /only used when type is "track"/],
    ['properties on identify', { ...base, properties: { a: 'A' } }, 'properties', /"track" or "page"/],
    ['name on track', { type: 'track', event: 'E', name: 'N', identifiers: { user_id: 'U' } }, 'name', /"page"/],
    ['records that is not a JSONPath', { ...base, records: 'items' }, 'records', /JSONPath/],
    ['records with CSV', { ...base, format: 'csv', records: '$.items' }, 'records', /only applies to JSON/],
    ['csv options with ndjson', { ...base, format: 'ndjson', csv: { delimiter: ';' } }, 'csv', /only applies to CSV/],
    ['a two-character delimiter', { ...base, csv: { delimiter: ';;' } }, 'csv.delimiter', /length less or equal to 1/],
    ['an unknown encoding', { ...base, csv: { encoding: 'klingon' } }, 'csv.encoding', /encoding/],
  ];
  it.each(invalid)('rejects %s, naming the field', (_, json, field, message) => {
    let thrown: unknown;
    try {
      parseMapping(json);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TesseraError);
    const err = thrown as TesseraError;
    expect(err.code).toBe('invalid_request');
    expect(err.details).toEqual({ field });
    expect(err.message).toMatch(new RegExp(`^invalid mapping: ${field.replace(/[.()]/g, '\\$&')}: `));
    expect(err.message).toMatch(message);
  });
});

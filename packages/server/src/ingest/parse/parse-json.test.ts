import { TRACKING_LIMITS } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../errors.js';
import { isWithinEventLimits, measureJson, parseJsonBody, REQUEST_JSON_LIMITS } from './parse-json.js';

function errorOf(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return err as TesseraError;
  }
  throw new Error('expected a TesseraError');
}

/** `{"a":{"a":…{"a":1}}}` with `depth` objects. */
function nestedObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

describe('measureJson', () => {
  it.each([
    ['a scalar', 1, { depth: 0, keys: 0 }],
    ['null', null, { depth: 0, keys: 0 }],
    ['an empty object', {}, { depth: 1, keys: 0 }],
    ['an empty array', [], { depth: 1, keys: 0 }],
    ['a flat object', { a: 1, b: 'x', c: null }, { depth: 1, keys: 3 }],
    ['nested objects and arrays', { a: [{ b: 1 }, { c: [2, { d: 3 }] }], e: {} }, { depth: 5, keys: 5 }],
    [
      'a batch of two events',
      { batch: [{ type: 'track', properties: { x: 1 } }, { type: 'page' }] },
      { depth: 4, keys: 5 },
    ],
  ])('measures %s', (_name, value, expected) => {
    expect(measureJson(value)).toEqual(expected);
  });

  it('measures a 100,000-deep array without recursion', () => {
    const value = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(measureJson(value)).toEqual({ depth: 100_000, keys: 0 });
  });
});

describe('parseJsonBody', () => {
  it('parses a valid body', () => {
    expect(parseJsonBody(Buffer.from('{"batch":[{"type":"track","event":"é ✓"}]}'))).toEqual({
      batch: [{ type: 'track', event: 'é ✓' }],
    });
  });

  it('drops a UTF-8 byte order mark', () => {
    expect(parseJsonBody(Buffer.from('\ufeff{"a":1}'))).toEqual({ a: 1 });
  });

  it.each([
    ['an invalid byte', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
    ['a truncated sequence', Buffer.from([0x7b, 0x22, 0xe2, 0x82, 0x22, 0x3a, 0x31, 0x7d])],
    ['an overlong encoding', Buffer.from([0x22, 0xc0, 0xaf, 0x22])],
    ['a lone surrogate (CESU-8)', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
  ])('rejects %s as invalid_utf8', (_name, buf) => {
    expect(errorOf(() => parseJsonBody(buf)).code).toBe('invalid_utf8');
  });

  it.each([
    ['empty', ''],
    ['truncated', '{"type":"track","userId":"secret-user'],
    ['trailing comma', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['two values', '{} {}'],
    ['undefined', 'undefined'],
  ])('rejects %s JSON as invalid_json without echoing the body', (_name, text) => {
    const error = errorOf(() => parseJsonBody(Buffer.from(text)));
    expect(error.code).toBe('invalid_json');
    expect(error.message).not.toContain('secret');
    expect(error.cause).toBeUndefined();
  });

  it('allows the event depth plus two levels for the batch wrapper', () => {
    expect(REQUEST_JSON_LIMITS.maxDepth).toBe(TRACKING_LIMITS.maxDepth + 2);
    const body = `{"batch":[${nestedObject(TRACKING_LIMITS.maxDepth)}]}`;
    expect(() => parseJsonBody(Buffer.from(body))).not.toThrow();
  });

  it.each([
    ['a depth-40 object', nestedObject(40)],
    ['a 100,000-deep array', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ])('rejects %s as too_deep', (_name, text) => {
    expect(errorOf(() => parseJsonBody(Buffer.from(text))).code).toBe('too_deep');
  });

  it('takes the limits as a parameter', () => {
    const limits = { maxDepth: 2, maxKeys: 3 };
    expect(parseJsonBody(Buffer.from('{"a":{"b":1,"c":2}}'), limits)).toEqual({ a: { b: 1, c: 2 } });
    expect(errorOf(() => parseJsonBody(Buffer.from('{"a":{"b":[1]}}'), limits)).code).toBe('too_deep');
    expect(errorOf(() => parseJsonBody(Buffer.from('{"a":{"b":1,"c":2,"d":3}}'), limits)).code).toBe('too_many_keys');
  });

  it('rejects too many keys over the whole body', () => {
    const keys = REQUEST_JSON_LIMITS.maxKeys + 1;
    const event = `{${Array.from({ length: 1000 }, (_, k) => `"k${k}":0`).join(',')}}`;
    const body = `{"batch":[${Array.from({ length: Math.ceil(keys / 1000) }, () => event).join(',')}]}`;
    const error = errorOf(() => parseJsonBody(Buffer.from(body)));
    expect(error.code).toBe('too_many_keys');
  });
});

describe('isWithinEventLimits', () => {
  const body = (value: unknown) => parseJsonBody(Buffer.from(JSON.stringify(value)));
  const deep = (depth: number) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  };
  const wide = (keys: number) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 1]));

  it('is true for a parsed body within the per-event depth and strictly below the key limit', () => {
    expect(isWithinEventLimits(body({ batch: [{ type: 'track' }] }))).toBe(true);
    expect(isWithinEventLimits(body(deep(TRACKING_LIMITS.maxDepth)))).toBe(true);
    expect(isWithinEventLimits(body(wide(TRACKING_LIMITS.maxKeys - 1)))).toBe(true);
  });

  it('is false past them, for values not parsed here, and for scalars', () => {
    expect(isWithinEventLimits(body(deep(TRACKING_LIMITS.maxDepth + 1)))).toBe(false);
    expect(isWithinEventLimits(body(wide(TRACKING_LIMITS.maxKeys)))).toBe(false);
    expect(isWithinEventLimits({ batch: [] })).toBe(false);
    expect(isWithinEventLimits(body(1))).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { packEntries, unpackEntries } from './pack-entries.js';

const entry = (messageId: string, over: Record<string, unknown> = {}) => ({
  sourceId: 's1',
  messageId,
  receivedAt: 1,
  payload: JSON.stringify({ messageId, t: 'line\nbreak', z: 'Zoë ✓' }),
  rejection: null,
  ...over,
});

describe('packEntries', () => {
  it.each([
    ['one request (the short form)', [entry('a\nb'), entry('["c"]'), entry('')]],
    [
      'a refused entry',
      [entry('a'), entry('b', { payload: '{"event":5}', rejection: { code: 'schema_invalid', reason: '/event' } })],
    ],
    ['two sources', [entry('a'), entry('b', { sourceId: 's2' })]],
    ['two receive times', [entry('a'), entry('b', { receivedAt: 2 })]],
    ['one entry', [entry('a')]],
    ['none', []],
  ])('round-trips %s, with unicode and escaped newlines', (_, entries) => {
    expect(unpackEntries(packEntries(entries))).toEqual(entries);
  });

  it('uses the short form for one request, the long one otherwise', () => {
    expect(JSON.parse(packEntries([entry('a'), entry('b')]).meta)).toEqual(['s1', 1, ['a', 'b']]);
    expect(JSON.parse(packEntries([entry('a'), entry('b', { receivedAt: 2 })]).meta)).toEqual([
      ['s1', 'a', 1, null],
      ['s1', 'b', 2, null],
    ]);
  });

  it('reads the long form written before the short one existed (JetStream messages of an earlier version)', () => {
    const packed = { meta: JSON.stringify([['s1', 'a', 1, null]]), payloads: '{"x":1}' };
    expect(unpackEntries(packed)).toEqual([
      { sourceId: 's1', messageId: 'a', receivedAt: 1, payload: '{"x":1}', rejection: null },
    ]);
  });

  it('refuses packed entries whose counts disagree', () => {
    expect(() => unpackEntries({ meta: JSON.stringify(['s1', 1, ['a', 'b']]), payloads: '{}' })).toThrow(
      /inconsistent/,
    );
    expect(() => unpackEntries({ meta: JSON.stringify([['s1', 'a', 1, null]]), payloads: '{}\n{}' })).toThrow(
      /inconsistent/,
    );
  });
});

import type { Mapping } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { applyMapping } from './apply-mapping.js';

const ctx = { defaultMessageId: 'derived-id', now: new Date('2024-05-01T12:00:00.000Z') };
const identify = (extra: Partial<Mapping>): Mapping => ({ type: 'identify', identifiers: { user_id: 'id' }, ...extra });

function call(mapping: Mapping, record: Record<string, unknown>): Record<string, unknown> {
  const result = applyMapping(mapping, record, ctx);
  if (!result.ok) throw new Error(`unexpected failure: ${result.message}`);
  return result.call;
}

describe('applyMapping field references', () => {
  const record = {
    id: 'u1',
    'First name': '  Ada ',
    Age: '36',
    customer: { email: 'ada@example.com', tags: ['vip', 'beta'] },
    'customer.email': 'flat-key@example.com',
    Blank: '   ',
    Empty: '',
    Nothing: null,
  };
  const cases: [string, Mapping['traits'], Record<string, unknown> | undefined][] = [
    ['a plain string is an exact key (spaces kept)', { firstName: 'First name' }, { firstName: 'Ada' }],
    ['keys are case-sensitive', { firstName: 'first name' }, undefined],
    ['a dotted key is a key, not a path', { email: 'customer.email' }, { email: 'flat-key@example.com' }],
    ['$ starts a JSONPath', { email: '$.customer.email' }, { email: 'ada@example.com' }],
    ['a JSONPath takes the first match', { tag: '$.customer.tags[*]' }, { tag: 'vip' }],
    ['a JSONPath to an array returns the array', { tags: '$.customer.tags' }, { tags: ['vip', 'beta'] }],
    ['a bracketed JSONPath reads keys with spaces', { firstName: "$['First name']" }, { firstName: 'Ada' }],
    ['object form with from and type', { age: { from: 'Age', type: 'number' } }, { age: 36 }],
    [
      'object form with a JSONPath from',
      { email: { from: '$.customer.email', type: 'string' } },
      { email: 'ada@example.com' },
    ],
    ['const ignores the record', { plan: { const: 'gold' } }, { plan: 'gold' }],
    ['const is converted too', { score: { const: '7', type: 'number' } }, { score: 7 }],
    ['an absent key is omitted', { x: 'Missing' }, undefined],
    ['an empty string is missing', { x: 'Empty' }, undefined],
    ['a blank string is missing', { x: 'Blank' }, undefined],
    ['null is missing', { x: 'Nothing' }, undefined],
    ['default applies to an absent key', { x: { from: 'Missing', default: 'n/a' } }, { x: 'n/a' }],
    ['default applies to an empty string', { x: { from: 'Empty', default: 0, type: 'number' } }, { x: 0 }],
    ['default applies to a blank string', { x: { from: 'Blank', default: 'false', type: 'boolean' } }, { x: false }],
    ['default applies to null', { x: { from: 'Nothing', default: 'none' } }, { x: 'none' }],
    ['default applies to a JSONPath with no match', { x: { from: '$.nope.deep', default: 1 } }, { x: 1 }],
    ['default is not used when the value is there', { age: { from: 'Age', default: 99, type: 'number' } }, { age: 36 }],
  ];
  it.each(cases)('%s', (_, traits, expected) => {
    expect(call(identify({ traits }), record).traits).toEqual(expected);
  });

  it('reports a failed conversion with the field path', () => {
    const mapping: Mapping = {
      type: 'track',
      event: { const: 'Order Completed' },
      identifiers: { user_id: 'id' },
      properties: { total: { from: 'total', type: 'number' } },
    };
    expect(applyMapping(mapping, { id: 'u1', total: '12 EUR' }, ctx)).toEqual({
      ok: false,
      field: 'properties.total',
      message: expect.stringMatching(/^properties\.total is not a number/),
    });
  });

  it('reports a bad consent value with the purpose', () => {
    const result = applyMapping(identify({ consent: { newsletter: 'optin' } }), { id: 'u1', optin: 'perhaps' }, ctx);
    expect(result).toMatchObject({ ok: false, field: 'consent.newsletter' });
  });
});

describe('applyMapping identifiers', () => {
  const record = {
    uid: 'u1',
    anon: 'a1',
    mail: ' Ada@Example.com ',
    tel: '+33612345678',
    crm: 'C-42',
    card: 991,
    w: '0xAbC',
  };
  const all = {
    user_id: 'uid',
    anonymous_id: 'anon',
    email: 'mail',
    phone: 'tel',
    crm_id: 'crm',
    loyalty_card: 'card',
    wallet: 'w',
  };
  const externalIds = [
    { type: 'crm_id', id: 'C-42' },
    { type: 'loyalty_card', id: '991' },
    { type: 'wallet', id: '0xAbC' },
  ];
  const contact = { email: 'Ada@Example.com', phone: '+33612345678' };
  const cases: [string, Mapping, Record<string, unknown>][] = [
    [
      'identify puts email / phone in traits',
      { type: 'identify', identifiers: all, traits: { plan: { const: 'gold' } } },
      { userId: 'u1', anonymousId: 'a1', traits: { plan: 'gold', ...contact }, context: { externalIds } },
    ],
    [
      'track puts email / phone in context.traits',
      { type: 'track', event: { const: 'Visited' }, identifiers: all },
      { userId: 'u1', anonymousId: 'a1', event: 'Visited', context: { traits: contact, externalIds } },
    ],
    [
      'page puts email / phone and mapped traits in context.traits',
      { type: 'page', name: { const: 'Home' }, identifiers: { email: 'mail' }, traits: { plan: { const: 'gold' } } },
      { name: 'Home', context: { traits: { plan: 'gold', email: 'Ada@Example.com' } } },
    ],
    [
      'group keeps traits for the account and contacts in context.traits',
      { type: 'group', groupId: 'crm', identifiers: { phone: 'tel' }, traits: { tier: { const: 'b2b' } } },
      { groupId: 'C-42', traits: { tier: 'b2b' }, context: { traits: { phone: '+33612345678' } } },
    ],
    [
      'numeric ids become strings',
      { type: 'identify', identifiers: { user_id: 'card' } },
      { userId: '991', context: {} },
    ],
    [
      'missing identifiers are omitted',
      { type: 'identify', identifiers: { user_id: 'nope', crm_id: 'crm', email: 'empty' } },
      { userId: undefined, context: { externalIds: [{ type: 'crm_id', id: 'C-42' }] } },
    ],
  ];
  it.each(cases)('%s', (_, mapping, expected) => {
    const out = call(mapping, { ...record, empty: '' });
    for (const [key, value] of Object.entries(expected)) expect(out[key], key).toEqual(value);
  });

  it('fails on identifiers when a record has none', () => {
    const result = applyMapping(
      { type: 'identify', identifiers: { email: 'mail', crm_id: 'crm' } },
      { mail: '', crm: ' ' },
      ctx,
    );
    expect(result).toEqual({ ok: false, field: 'identifiers', message: expect.stringContaining('email, crm_id') });
  });
});

describe('applyMapping call fields', () => {
  it('builds a complete track call', () => {
    const mapping: Mapping = {
      type: 'track',
      event: { const: 'Order Completed' },
      messageId: 'Order',
      timestamp: 'Date',
      identifiers: { user_id: 'Customer' },
      properties: {
        orderId: 'Order',
        total: { from: 'Total', type: 'number' },
        items: { from: 'Items', type: 'json' },
      },
      consent: { marketing: 'Opt-in' },
    };
    const record = {
      Order: 'O-1',
      Date: '2024-03-01T09:30:00+01:00',
      Customer: '42',
      Total: '99,90',
      Items: '[{"sku":"A"}]',
      'Opt-in': 'Y',
    };
    expect(call(mapping, record)).toEqual({
      type: 'track',
      messageId: 'O-1',
      timestamp: '2024-03-01T08:30:00.000Z',
      event: 'Order Completed',
      userId: '42',
      properties: { orderId: 'O-1', total: 99.9, items: [{ sku: 'A' }] },
      context: { consent: { categoryPreferences: { marketing: true } } },
    });
  });

  it.each([
    ['no messageId mapping', undefined, {}, 'derived-id'],
    ['an empty messageId column', 'mid', { mid: '' }, 'derived-id'],
    ['a messageId column', 'mid', { mid: 'm-7' }, 'm-7'],
  ])('messageId with %s', (_, ref, record, expected) => {
    expect(call(identify({ messageId: ref }), { id: 'u', ...record }).messageId).toBe(expected);
  });

  it.each([
    ['no timestamp mapping', undefined, {}, '2024-05-01T12:00:00.000Z'],
    ['an empty timestamp column', 'ts', { ts: '' }, '2024-05-01T12:00:00.000Z'],
    ['a timestamp column (always read as a date)', 'ts', { ts: '2024-01-02 03:04:05Z' }, '2024-01-02T03:04:05.000Z'],
  ])('timestamp with %s', (_, ref, record, expected) => {
    expect(call(identify({ timestamp: ref }), { id: 'u', ...record }).timestamp).toBe(expected);
  });

  it.each([
    ['timestamp', identify({ timestamp: 'ts' }), { id: 'u', ts: 'yesterday-ish' }],
    ['event', { type: 'track', event: 'ev', identifiers: { user_id: 'id' } } as Mapping, { id: 'u', ev: '' }],
    ['groupId', { type: 'group', groupId: 'g', identifiers: { user_id: 'id' } } as Mapping, { id: 'u' }],
  ])('fails on %s', (field, mapping, record) => {
    expect(applyMapping(mapping, record, ctx)).toMatchObject({ ok: false, field });
  });

  it('a track event name can come from the record', () => {
    expect(
      call({ type: 'track', event: '$.kind', identifiers: { user_id: 'id' } }, { id: 'u', kind: 'Signed Up' }).event,
    ).toBe('Signed Up');
  });
});

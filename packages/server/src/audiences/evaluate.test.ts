import {
  type AudienceDefinition,
  type EventAggregate,
  type EventCondition,
  type EventWindow,
  EXAMPLE_AUDIENCE,
  type PropertyFilter,
} from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { evaluateAudience } from './evaluate.js';
import type { ProfileSnapshot, SnapshotEvent } from './profile-snapshot.js';
import { DAY, ev, HOUR, NOW, snapshot } from './test-snapshot.js';

describe('relative windows (now − length < timestamp ≤ now; a month is 30 days)', () => {
  const rows: [string, EventWindow, number, boolean][] = [
    ['30 days: exactly 30 days ago is out', { last: 30, unit: 'days' }, NOW - 30 * DAY, false],
    ['30 days: 1 ms later is in', { last: 30, unit: 'days' }, NOW - 30 * DAY + 1, true],
    ['30 days: now is in', { last: 30, unit: 'days' }, NOW, true],
    ['30 days: 1 ms after now is out', { last: 30, unit: 'days' }, NOW + 1, false],
    ['1 hour: exactly an hour ago is out', { last: 1, unit: 'hours' }, NOW - HOUR, false],
    ['1 hour: 59:59.999 ago is in', { last: 1, unit: 'hours' }, NOW - HOUR + 1, true],
    ['36 hours: 35 hours ago is in', { last: 36, unit: 'hours' }, NOW - 35 * HOUR, true],
    ['2 weeks: 14 days ago is out', { last: 2, unit: 'weeks' }, NOW - 14 * DAY, false],
    ['2 weeks: 13 days 23 h ago is in', { last: 2, unit: 'weeks' }, NOW - 14 * DAY + HOUR, true],
    ['1 month: 30 days ago is out', { last: 1, unit: 'months' }, NOW - 30 * DAY, false],
    ['1 month: 29 days ago is in', { last: 1, unit: 'months' }, NOW - 29 * DAY, true],
    [
      '1 month: within the calendar month (May 1st 18:00) but not 30 days is out',
      { last: 1, unit: 'months' },
      Date.parse('2024-05-01T18:00:00Z'),
      false,
    ],
    ['3 months: 89 days ago is in', { last: 3, unit: 'months' }, NOW - 89 * DAY, true],
    ['3 months: 90 days ago is out', { last: 3, unit: 'months' }, NOW - 90 * DAY, false],
  ];
  it.each(rows)('%s', (_, window, timestamp, expected) => {
    const definition: EventCondition = { type: 'event', name: 'Visit', window };
    expect(evaluateAudience(definition, snapshot({ events: [ev('Visit', timestamp)] }), NOW)).toBe(expected);
  });
});

describe('absolute windows (from ≤ timestamp < to, whatever now is) and no window', () => {
  const from = '2024-01-01';
  const to = '2024-02-01T00:00:00+01:00';
  const fromMs = Date.parse('2024-01-01T00:00:00Z');
  const toMs = Date.parse('2024-01-31T23:00:00Z');
  const rows: [string, EventWindow | undefined, number, boolean][] = [
    ['from is included', { from, to }, fromMs, true],
    ['1 ms before from is out', { from, to }, fromMs - 1, false],
    ['to is excluded', { from, to }, toMs, false],
    ['1 ms before to is in (offsets count)', { from, to }, toMs - 1, true],
    ['only from: long after', { from }, NOW - DAY, true],
    ['only from: before', { from }, fromMs - DAY, false],
    ['only to: long before', { to }, 0, true],
    ['only to: at to', { to }, toMs, false],
    ['a period after now still counts its events', { from: '2030-01-01' }, Date.parse('2030-06-01T00:00:00Z'), true],
    ['no window: years ago', undefined, Date.parse('2001-01-01T00:00:00Z'), true],
    ['no window: a future event', undefined, NOW + 365 * DAY, true],
  ];
  it.each(rows)('%s', (_, window, timestamp, expected) => {
    const definition: EventCondition = { type: 'event', name: 'Visit', ...(window ? { window } : {}) };
    expect(evaluateAudience(definition, snapshot({ events: [ev('Visit', timestamp)] }), NOW)).toBe(expected);
  });
});

describe('event name and property filters', () => {
  const t = NOW - DAY;
  const rows: [string, PropertyFilter[] | undefined, SnapshotEvent[], boolean][] = [
    ['the name matches exactly', undefined, [ev('Order Completed', t)], true],
    ['the name is case-sensitive', undefined, [ev('order completed', t)], false],
    ['another event does not count', undefined, [ev('Order Refunded', t)], false],
    ['no events', undefined, [], false],
    [
      'a filter that holds',
      [{ property: 'total', compare: { op: 'gt', value: 50 } }],
      [ev('Order Completed', t, { total: 51 })],
      true,
    ],
    [
      'a filter that fails',
      [{ property: 'total', compare: { op: 'gt', value: 50 } }],
      [ev('Order Completed', t, { total: 50 })],
      false,
    ],
    [
      'a filter on a missing property',
      [{ property: 'total', compare: { op: 'lt', value: 50 } }],
      [ev('Order Completed', t)],
      false,
    ],
    [
      'a filter on null properties',
      [{ property: 'total', compare: { op: 'not_exists' } }],
      [ev('Order Completed', t, null)],
      true,
    ],
    [
      'every filter must hold on the same event',
      [
        { property: 'total', compare: { op: 'gt', value: 50 } },
        { property: 'currency', compare: { op: 'equals', value: 'EUR' } },
      ],
      [
        ev('Order Completed', t, { total: 60, currency: 'USD' }),
        ev('Order Completed', t, { total: 10, currency: 'EUR' }),
      ],
      false,
    ],
    [
      'every filter holds on one event',
      [
        { property: 'total', compare: { op: 'gt', value: 50 } },
        { property: 'currency', compare: { op: 'equals', value: 'EUR' } },
      ],
      [
        ev('Order Completed', t, { total: 10, currency: 'EUR' }),
        ev('Order Completed', t, { total: 60, currency: 'EUR' }),
      ],
      true,
    ],
    [
      'a nested property path',
      [{ property: 'shipping.country', compare: { op: 'in', values: ['FR', 'BE'] } }],
      [ev('Order Completed', t, { shipping: { country: 'BE' } })],
      true,
    ],
  ];
  it.each(rows)('%s', (_, where, events, expected) => {
    const definition: EventCondition = { type: 'event', name: 'Order Completed', ...(where ? { where } : {}) };
    expect(evaluateAudience(definition, snapshot({ events }), NOW)).toBe(expected);
  });
});

describe('aggregates', () => {
  const order = (total: unknown, daysAgo = 1) => ev('Order Completed', NOW - daysAgo * DAY, { total });
  const rows: [string, EventAggregate | undefined, SnapshotEvent[], boolean][] = [
    ['none: at least one', undefined, [order(1)], true],
    ['none: zero events', undefined, [], false],
    ['count ≥ 2 with 2', { fn: 'count', compare: { op: 'gte', value: 2 } }, [order(1), order(2)], true],
    ['count ≥ 2 with 1', { fn: 'count', compare: { op: 'gte', value: 2 } }, [order(1)], false],
    ['count = 0 with none', { fn: 'count', compare: { op: 'equals', value: 0 } }, [], true],
    ['count = 0 with one', { fn: 'count', compare: { op: 'equals', value: 0 } }, [order(1)], false],
    ['count < 3 with none', { fn: 'count', compare: { op: 'lt', value: 3 } }, [], true],
    [
      'count between 2 and 3 with 3',
      { fn: 'count', compare: { op: 'between', values: [2, 3] } },
      [order(1), order(1), order(1)],
      true,
    ],
    [
      'count counts only the window',
      { fn: 'count', compare: { op: 'gte', value: 2 } },
      [order(1), order(1, 31)],
      false,
    ],
    [
      'sum ≥ 100: 60 + 40',
      { fn: 'sum', property: 'total', compare: { op: 'gte', value: 100 } },
      [order(60), order(40)],
      true,
    ],
    [
      'sum ≥ 100: 60 + 39.5',
      { fn: 'sum', property: 'total', compare: { op: 'gte', value: 100 } },
      [order(60), order(39.5)],
      false,
    ],
    [
      'sum reads decimal strings',
      { fn: 'sum', property: 'total', compare: { op: 'gte', value: 100 } },
      [order(60), order('40')],
      true,
    ],
    [
      'sum skips non-numbers',
      { fn: 'sum', property: 'total', compare: { op: 'equals', value: 60 } },
      [order(60), order('n/a'), order(null), order(true)],
      true,
    ],
    ['sum of nothing is 0', { fn: 'sum', property: 'total', compare: { op: 'equals', value: 0 } }, [], true],
    [
      'sum of nothing is below 10',
      { fn: 'sum', property: 'total', compare: { op: 'lt', value: 10 } },
      [order('x')],
      true,
    ],
    [
      'sum ignores events out of the window',
      { fn: 'sum', property: 'total', compare: { op: 'gt', value: 50 } },
      [order(40), order(40, 40)],
      false,
    ],
    ['min < 10', { fn: 'min', property: 'total', compare: { op: 'lt', value: 10 } }, [order(50), order(5)], true],
    [
      'min < 10, all above',
      { fn: 'min', property: 'total', compare: { op: 'lt', value: 10 } },
      [order(50), order(10)],
      false,
    ],
    ['max > 100', { fn: 'max', property: 'total', compare: { op: 'gt', value: 100 } }, [order(50), order(101)], true],
    [
      'max > 100, all below',
      { fn: 'max', property: 'total', compare: { op: 'gt', value: 100 } },
      [order(50), order(100)],
      false,
    ],
    [
      'max of nothing is false, even for lt',
      { fn: 'max', property: 'total', compare: { op: 'lt', value: 100 } },
      [],
      false,
    ],
    [
      'min of no number is false',
      { fn: 'min', property: 'total', compare: { op: 'gte', value: 0 } },
      [order('abc')],
      false,
    ],
    [
      'max of negative numbers',
      { fn: 'max', property: 'total', compare: { op: 'equals', value: -1 } },
      [order(-5), order(-1)],
      true,
    ],
  ];
  it.each(rows)('%s', (_, aggregate, events, expected) => {
    const definition: EventCondition = {
      type: 'event',
      name: 'Order Completed',
      window: { last: 30, unit: 'days' },
      ...(aggregate ? { aggregate } : {}),
    };
    expect(evaluateAudience(definition, snapshot({ events }), NOW)).toBe(expected);
  });

  it('sums a nested property', () => {
    const definition: EventCondition = {
      type: 'event',
      name: 'Order Completed',
      aggregate: { fn: 'sum', property: 'order.total', compare: { op: 'equals', value: 30 } },
    };
    const events = [
      ev('Order Completed', NOW, { order: { total: 10 } }),
      ev('Order Completed', NOW, { order: { total: 20 } }),
    ];
    expect(evaluateAudience(definition, snapshot({ events }), NOW)).toBe(true);
    expect(evaluateAudience(definition, snapshot({ events: events.slice(1) }), NOW)).toBe(false);
  });
});

describe('traits and computed traits', () => {
  const s = snapshot({
    traits: { plan: 'gold', address: { city: 'Lyon' }, score: null },
    computedTraits: { ltv: 1200 },
  });
  const rows: [string, AudienceDefinition, boolean][] = [
    ['a trait', { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } }, true],
    ['a nested trait', { type: 'trait', key: 'address.city', compare: { op: 'starts_with', value: 'Ly' } }, true],
    ['a missing trait compared', { type: 'trait', key: 'age', compare: { op: 'lt', value: 200 } }, false],
    ['a missing trait: not_exists', { type: 'trait', key: 'age', compare: { op: 'not_exists' } }, true],
    ['a null trait: not_exists', { type: 'trait', key: 'score', compare: { op: 'not_exists' } }, true],
    [
      'a missing trait: not_equals is false',
      { type: 'trait', key: 'tier', compare: { op: 'not_equals', value: 'a' } },
      false,
    ],
    [
      'a missing trait: not (equals) is true',
      { type: 'not', condition: { type: 'trait', key: 'tier', compare: { op: 'equals', value: 'a' } } },
      true,
    ],
    ['a computed trait', { type: 'computed_trait', key: 'ltv', compare: { op: 'gte', value: 1000 } }, true],
    ['a computed trait, failing', { type: 'computed_trait', key: 'ltv', compare: { op: 'gt', value: 1200 } }, false],
    ['a trait is not a computed trait', { type: 'computed_trait', key: 'plan', compare: { op: 'exists' } }, false],
    ['a computed trait is not a trait', { type: 'trait', key: 'ltv', compare: { op: 'exists' } }, false],
  ];
  it.each(rows)('%s', (_, definition, expected) => {
    expect(evaluateAudience(definition, s, NOW)).toBe(expected);
  });
});

describe('entity: accounts (any linked account passes every filter)', () => {
  const accounts = [{ traits: { plan: 'enterprise', seats: 12 } }, { traits: { plan: 'free', seats: 200 } }];
  const rows: [string, ProfileSnapshot['accounts'], AudienceDefinition, boolean][] = [
    ['has an account', accounts, { type: 'entity', entity: 'account' }, true],
    ['has no account', [], { type: 'entity', entity: 'account' }, false],
    ['empty filters: has an account', [], { type: 'entity', entity: 'account', where: [] }, false],
    [
      'one account passes',
      accounts,
      { type: 'entity', entity: 'account', where: [{ key: 'plan', compare: { op: 'equals', value: 'enterprise' } }] },
      true,
    ],
    [
      'no account passes',
      accounts,
      { type: 'entity', entity: 'account', where: [{ key: 'plan', compare: { op: 'equals', value: 'pro' } }] },
      false,
    ],
    [
      'the filters must hold on the same account',
      accounts,
      {
        type: 'entity',
        entity: 'account',
        where: [
          { key: 'plan', compare: { op: 'equals', value: 'enterprise' } },
          { key: 'seats', compare: { op: 'gt', value: 100 } },
        ],
      },
      false,
    ],
    [
      'both filters on one account',
      accounts,
      {
        type: 'entity',
        entity: 'account',
        where: [
          { key: 'plan', compare: { op: 'equals', value: 'free' } },
          { key: 'seats', compare: { op: 'gt', value: 100 } },
        ],
      },
      true,
    ],
    [
      'a missing account trait',
      accounts,
      { type: 'entity', entity: 'account', where: [{ key: 'industry', compare: { op: 'not_exists' } }] },
      true,
    ],
  ];
  it.each(rows)('%s', (_, accountList, definition, expected) => {
    expect(evaluateAudience(definition, snapshot({ accounts: accountList }), NOW)).toBe(expected);
  });
});

describe('consents (no record is neither granted nor denied)', () => {
  const consents = { marketing: true, analytics: false };
  const rows: [string, string, 'granted' | 'denied', boolean][] = [
    ['granted, and granted', 'marketing', 'granted', true],
    ['granted, but denied', 'analytics', 'granted', false],
    ['denied, and denied', 'analytics', 'denied', true],
    ['denied, but granted', 'marketing', 'denied', false],
    ['granted, never recorded', 'profiling', 'granted', false],
    ['denied, never recorded', 'profiling', 'denied', false],
    ['an inherited name is not a purpose', 'constructor', 'granted', false],
  ];
  it.each(rows)('%s', (_, purpose, state, expected) => {
    expect(evaluateAudience({ type: 'consent', purpose, state }, snapshot({ consents }), NOW)).toBe(expected);
  });
});

describe('audience membership and and / or / not', () => {
  const a: AudienceDefinition = { type: 'audience', key: 'a' };
  const b: AudienceDefinition = { type: 'audience', key: 'b' };
  const c: AudienceDefinition = { type: 'audience', key: 'c' };
  const not = (condition: AudienceDefinition): AudienceDefinition => ({ type: 'not', condition });
  const and = (...conditions: AudienceDefinition[]): AudienceDefinition => ({ type: 'and', conditions });
  const or = (...conditions: AudienceDefinition[]): AudienceDefinition => ({ type: 'or', conditions });
  const rows: [string, AudienceDefinition, string[], boolean][] = [
    ['in a', a, ['a'], true],
    ['not in a', a, ['b'], false],
    ['keys are exact', a, ['A'], false],
    ['not: in a', not(a), ['a'], false],
    ['not: not in a', not(a), [], true],
    ['not not', not(not(a)), ['a'], true],
    ['and: both', and(a, b), ['a', 'b'], true],
    ['and: one', and(a, b), ['a'], false],
    ['and: one child', and(a), ['a'], true],
    ['or: one', or(a, b), ['b'], true],
    ['or: none', or(a, b), ['c'], false],
    ['or: one child', or(a), [], false],
    ['(a or b) and not c: b', and(or(a, b), not(c)), ['b'], true],
    ['(a or b) and not c: b and c', and(or(a, b), not(c)), ['b', 'c'], false],
    ['a or (b and c): b', or(a, and(b, c)), ['b'], false],
    ['a or (b and c): b and c', or(a, and(b, c)), ['b', 'c'], true],
    ['not (a and b): a', not(and(a, b)), ['a'], true],
    ['not (a or b): a', not(or(a, b)), ['a'], false],
    ['deep: and(or(and(not(a), b), c))', and(or(and(not(a), b), c)), ['b'], true],
    ['deep: and(or(and(not(a), b), c)) with a', and(or(and(not(a), b), c)), ['a', 'b'], false],
  ];
  it.each(rows)('%s', (_, definition, audiences, expected) => {
    expect(evaluateAudience(definition, snapshot({ audiences }), NOW)).toBe(expected);
  });
});

describe('the worked example: plan gold, ≥ 2 orders over 50 in 30 days, not in X', () => {
  const order = (total: number, at: number) => ev('Order Completed', at, { total });
  const two = [order(60, NOW - DAY), order(51, NOW - 29 * DAY)];
  const gold = { plan: 'gold' };
  const rows: [string, Partial<ProfileSnapshot> & { audiences?: string[] }, boolean][] = [
    ['qualifies', { traits: gold, events: two }, true],
    ['not gold', { traits: { plan: 'silver' }, events: two }, false],
    ['no plan', { events: two }, false],
    ['in X', { traits: gold, events: two, audiences: ['X'] }, false],
    ['in another audience', { traits: gold, events: two, audiences: ['Y'] }, true],
    ['one order is 50, not > 50', { traits: gold, events: [order(60, NOW - DAY), order(50, NOW - DAY)] }, false],
    [
      'one order is exactly 30 days old',
      { traits: gold, events: [order(60, NOW - DAY), order(60, NOW - 30 * DAY)] },
      false,
    ],
    [
      'an order is another event',
      { traits: gold, events: [order(60, NOW - DAY), ev('Order Updated', NOW, { total: 99 })] },
      false,
    ],
    ['three orders', { traits: gold, events: [...two, order(70, NOW)] }, true],
  ];
  it.each(rows)('%s', (_, parts, expected) => {
    expect(evaluateAudience(EXAMPLE_AUDIENCE, snapshot(parts), NOW)).toBe(expected);
  });
});

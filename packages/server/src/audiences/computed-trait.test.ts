import type { ComputedTraitDefinition } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../errors.js';
import { computeTrait, traitExpiry } from './computed-trait.js';
import { parseComputedTrait } from './computed-trait-service.js';
import { nextExpiry } from './next-expiry.js';
import type { SnapshotEvent } from './profile-snapshot.js';
import { summariseTrait } from './summarise.js';
import { DAY, ev, HOUR, NOW, snapshot } from './test-snapshot.js';

const O = 'Order Completed';
const order = (daysAgo: number, properties: Record<string, unknown>, id?: string): SnapshotEvent => ({
  ...ev(O, NOW - daysAgo * DAY, properties),
  ...(id ? { id } : {}),
});
const EVENTS: SnapshotEvent[] = [
  order(1, { total: 60, coupon: 'SPRING', channel: 'web' }, 'b'),
  order(1, { total: '40', coupon: 'WINTER', channel: 'app' }, 'a'),
  order(10, { total: 'n/a', channel: 'app' }),
  order(40, { total: 100, channel: 'web' }),
  ev('Product Viewed', NOW - HOUR, { total: 999 }),
  order(-2, { total: 5, channel: 'shop' }), // two days ahead (clock skew)
];

const def = (
  fn: ComputedTraitDefinition['fn'],
  more: Partial<ComputedTraitDefinition> = {},
): ComputedTraitDefinition => ({
  fn,
  event: O,
  ...more,
});
const last30 = { window: { last: 30, unit: 'days' as const } };

describe('computeTrait', () => {
  it.each<[string, ComputedTraitDefinition, unknown]>([
    ['count: every matching event, future ones too without a window', def('count'), 5],
    ['count in a window: now − 30 days < t ≤ now', def('count', last30), 3],
    [
      'count with a filter',
      def('count', { where: [{ property: 'channel', compare: { op: 'equals', value: 'app' } }] }),
      2,
    ],
    ['count of nothing is 0', def('count', { event: 'Refund' }), 0],
    ['sum over numbers and numeric strings, others skipped', def('sum', { property: 'total', ...last30 }), 100],
    ['sum of nothing is 0', def('sum', { event: 'Refund', property: 'total' }), 0],
    ['average', def('average', { property: 'total', ...last30 }), 50],
    ['average of nothing is missing', def('average', { event: 'Refund', property: 'total' }), undefined],
    ['min', def('min', { property: 'total' }), 5],
    ['max in a window', def('max', { property: 'total', ...last30 }), 60],
    ['first: the earliest event’s value', def('first', { property: 'channel' }), 'web'],
    ['last: the latest (the future one, without a window)', def('last', { property: 'channel' }), 'shop'],
    ['last in a window: same time, larger id wins', def('last', { property: 'coupon', ...last30 }), 'SPRING'],
    ['first with a property missing there', def('first', { property: 'coupon', ...last30 }), undefined],
    ['most frequent string', def('most_frequent', { property: 'channel' }), 'app'],
    ['most frequent: a tie goes to the smallest string', def('most_frequent', { property: 'coupon' }), 'SPRING'],
    ['most frequent of nothing is missing', def('most_frequent', { property: 'nope' }), undefined],
    ['days since the latest in the window', def('days_since', last30), 1],
    ['days since: the future event, negative', def('days_since'), -2],
    ['days since of nothing is missing', def('days_since', { event: 'Refund' }), undefined],
  ])('%s', (_, definition, expected) => {
    expect(computeTrait(definition, EVENTS, NOW)).toEqual(expected);
  });

  it('truncates days since: 1.9 days is 1, and 2 days exactly is 2', () => {
    const d = def('days_since');
    expect(computeTrait(d, [ev(O, NOW - 1.9 * DAY)], NOW)).toBe(1);
    expect(computeTrait(d, [ev(O, NOW - 2 * DAY)], NOW)).toBe(2);
  });
});

describe('traitExpiry and nextExpiry', () => {
  it('days since moves at each whole day after the latest event', () => {
    const events = [ev(O, NOW - 1.5 * DAY)];
    expect(traitExpiry(def('days_since'), events, NOW)).toBe(NOW + 0.5 * DAY);
    expect(computeTrait(def('days_since'), events, NOW + 0.5 * DAY - 1)).toBe(1);
    expect(computeTrait(def('days_since'), events, NOW + 0.5 * DAY)).toBe(2);
  });

  it('a windowed trait moves when an event leaves the window or a future one enters', () => {
    const events = [ev(O, NOW - 29 * DAY, { total: 1 }), ev(O, NOW + HOUR, { total: 2 })];
    expect(traitExpiry(def('sum', { property: 'total', ...last30 }), events, NOW)).toBe(NOW + HOUR);
    expect(traitExpiry(def('sum', { property: 'total', ...last30 }), events.slice(0, 1), NOW)).toBe(NOW + DAY);
    // Without a window nothing moves with time (a future event already counts).
    expect(traitExpiry(def('sum', { property: 'total' }), events, NOW)).toBeUndefined();
  });

  it('an audience on a computed trait re-checks when the trait may change', () => {
    const computed = new Map([['days_since_order', def('days_since')]]);
    const s = snapshot({ events: [ev(O, NOW - 1.5 * DAY)] });
    const audience = {
      type: 'computed_trait' as const,
      key: 'days_since_order',
      compare: { op: 'gt' as const, value: 7 },
    };
    expect(nextExpiry(audience, s, NOW, computed)).toBe(NOW + 0.5 * DAY);
    expect(nextExpiry(audience, s, NOW)).toBeUndefined();
  });
});

describe('parseComputedTrait', () => {
  it.each<[unknown, string]>([
    [{ fn: 'total', event: O }, 'definition.fn'],
    [{ fn: 'sum', event: O }, 'definition.property: is required for sum'],
    [{ fn: 'count', event: O, property: 'total' }, 'definition.property: count takes no property'],
    [{ fn: 'count', event: '' }, 'definition.event'],
    [{ fn: 'count', event: O, window: { last: 0, unit: 'days' } }, 'definition.window.last'],
    [{ fn: 'count', event: O, where: [{ property: 'x', compare: { op: 'like' } }] }, 'definition.where.0.compare.op'],
    [{ fn: 'count', event: O, colour: 1 }, 'definition.colour'],
    [{ fn: 'max', event: O, property: 'a..b' }, 'definition.property'],
  ])('refuses %j naming %s', (value, message) => {
    expect(() => parseComputedTrait(value)).toThrow(TesseraError);
    expect(() => parseComputedTrait(value)).toThrow(message);
  });

  it('accepts and copies a valid definition', () => {
    const d = { fn: 'sum', event: O, property: 'total', ...last30 };
    expect(parseComputedTrait(d)).toEqual(d);
  });
});

describe('summariseTrait', () => {
  it.each<[ComputedTraitDefinition, string, string]>([
    [
      def('sum', { property: 'total', ...last30 }),
      'sum of total over Order Completed in the last 30 days',
      'somme de total sur Order Completed',
    ],
    [
      def('count', { where: [{ property: 'total', compare: { op: 'gt', value: 50 } }] }),
      'number of Order Completed with total > 50',
      'nombre de Order Completed avec total > 50',
    ],
    [def('days_since'), 'days since the last Order Completed', 'jours depuis le dernier Order Completed'],
  ])('%j', (definition, en, fr) => {
    expect(summariseTrait(definition, 'en')).toBe(en);
    expect(summariseTrait(definition, 'fr')).toContain(fr);
  });
});

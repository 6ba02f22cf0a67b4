import { AUDIENCE_LIMITS, EXAMPLE_AUDIENCE } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../errors.js';
import { parseAudience } from './parse-audience.js';

const trait = { type: 'trait', key: 'plan', compare: { op: 'equals', value: 'gold' } };
const event = (extra: Record<string, unknown>) => ({ type: 'event', name: 'Order Completed', ...extra });
const nest = (depth: number): unknown => (depth === 1 ? trait : { type: 'not', condition: nest(depth - 1) });

describe('parseAudience accepts', () => {
  const valid: [string, unknown][] = [
    ['the worked example', EXAMPLE_AUDIENCE],
    ['a trait path', { type: 'trait', key: 'address.city', compare: { op: 'in', values: ['Lyon', 7, true] } }],
    ['exists', { type: 'trait', key: 'email', compare: { op: 'exists' } }],
    ['a date bound', { type: 'trait', key: 'signup', compare: { op: 'gte', value: '2024-01-01T00:00:00+02:00' } }],
    [
      'a date between',
      { type: 'trait', key: 'signup', compare: { op: 'between', values: ['2024-01-01', '2024-01-01'] } },
    ],
    ['a computed trait', { type: 'computed_trait', key: 'ltv_90d', compare: { op: 'lt', value: 10 } }],
    ['a sum', event({ aggregate: { fn: 'sum', property: 'total', compare: { op: 'between', values: [0, 10.5] } } })],
    ['count = 0', event({ aggregate: { fn: 'count', compare: { op: 'equals', value: 0 } } })],
    ['an absolute window', event({ window: { from: '2024-01-01', to: '2024-02-01' } })],
    ['an open absolute window', event({ window: { to: '2024-02-01T00:00Z' } })],
    ['120 months', event({ window: { last: 121, unit: 'months' } })],
    ['an account', { type: 'entity', entity: 'account', where: [{ key: 'plan', compare: { op: 'exists' } }] }],
    ['a consent', { type: 'consent', purpose: 'marketing', state: 'denied' }],
    ['another audience', { type: 'audience', key: 'churn-risk_2' }],
    [`depth ${AUDIENCE_LIMITS.maxDepth}`, nest(AUDIENCE_LIMITS.maxDepth)],
    [
      `${AUDIENCE_LIMITS.maxConditions} conditions`,
      { type: 'and', conditions: Array.from({ length: 33 }, () => ({ type: 'or', conditions: [trait, trait] })) },
    ],
  ];
  it.each(valid)('%s', (_, json) => {
    expect(parseAudience(json)).toEqual(json);
  });

  it('returns a copy', () => {
    const json = structuredClone(trait);
    const parsed = parseAudience(json);
    json.key = 'changed';
    expect(parsed).toEqual(trait);
  });
});

describe('parseAudience refuses, naming the field', () => {
  const invalid: [string, unknown, string, RegExp, { key?: string }?][] = [
    ['not an object', 'plan = gold', '(root)', /expected an audience condition/],
    [
      'no type',
      { key: 'plan' },
      'type',
      /one of "trait", "computed_trait", "event", "entity", "consent", "audience", "and", "or", "not"/,
    ],
    ['an unknown type', { type: 'segment' }, 'type', /one of "trait"/],
    ['an unknown type, nested', { type: 'and', conditions: [trait, { type: 'nope' }] }, 'conditions.1.type', /one of/],
    ['an unknown field', { ...trait, extra: 1 }, 'extra', /unexpected property/],
    ['a missing comparison', { type: 'trait', key: 'plan' }, 'compare', /required/],
    [
      'an unknown operator',
      { ...trait, compare: { op: 'like', value: 'g%' } },
      'compare.op',
      /one of "equals", "not_equals", "in", "contains", "starts_with", "exists", "not_exists", "gt", "gte", "lt", "lte", "between"/,
    ],
    [
      'an object as a value',
      { ...trait, compare: { op: 'equals', value: { a: 1 } } },
      'compare.value',
      /expected a string, number or boolean/,
    ],
    ['a value on exists', { ...trait, compare: { op: 'exists', value: 1 } }, 'compare.value', /unexpected property/],
    ['in without values', { ...trait, compare: { op: 'in', values: [] } }, 'compare.values', /length/],
    [
      'too many in values',
      { ...trait, compare: { op: 'in', values: Array.from({ length: 101 }, (_, i) => i) } },
      'compare.values',
      /length/,
    ],
    ['a boolean bound', { ...trait, compare: { op: 'gt', value: true } }, 'compare.value', /a number, or an ISO 8601/],
    ['a text bound', { ...trait, compare: { op: 'gt', value: 'gold' } }, 'compare.value', /ISO 8601/],
    [
      'an impossible date bound',
      { ...trait, compare: { op: 'lte', value: '2023-02-29' } },
      'compare.value',
      /ISO 8601/,
    ],
    [
      'a date-time bound without offset',
      { ...trait, compare: { op: 'lt', value: '2024-01-01T10:00' } },
      'compare.value',
      /with an offset/,
    ],
    [
      'between with one value',
      { ...trait, compare: { op: 'between', values: [1] } },
      'compare.values',
      /exactly two values \[low, high\], not 1/,
    ],
    [
      'between with three values',
      { ...trait, compare: { op: 'between', values: [1, 2, 3] } },
      'compare.values',
      /exactly two/,
    ],
    [
      'between a number and a date',
      { ...trait, compare: { op: 'between', values: [1, '2024-01-01'] } },
      'compare.values',
      /two numbers or two ISO 8601 dates/,
    ],
    [
      'between reversed',
      { ...trait, compare: { op: 'between', values: [10, 1] } },
      'compare.values',
      /low bound is after/,
    ],
    [
      'between reversed dates',
      { ...trait, compare: { op: 'between', values: ['2024-02-01', '2024-01-01'] } },
      'compare.values',
      /low bound/,
    ],
    [
      'between a bad date',
      { ...trait, compare: { op: 'between', values: ['2024-01-01', 'soon'] } },
      'compare.values.1',
      /ISO 8601/,
    ],
    ['contains nothing', { ...trait, compare: { op: 'contains', value: '' } }, 'compare.value', /not be empty/],
    ['starts_with nothing', { ...trait, compare: { op: 'starts_with', value: '' } }, 'compare.value', /length/],
    ['an empty trait path part', { ...trait, key: 'address..city' }, 'key', /without empty parts/],
    ['an empty trait', { ...trait, key: '' }, 'key', /length/],
    [
      'a computed trait key with a space',
      { type: 'computed_trait', key: 'life time', compare: { op: 'exists' } },
      'key',
      /letters, digits/,
    ],
    ['an audience key with a dot', { type: 'audience', key: 'a.b' }, 'key', /letters, digits/],
    [
      'an audience containing itself',
      { type: 'not', condition: { type: 'audience', key: 'vip' } },
      'condition.key',
      /cannot contain itself/,
      { key: 'vip' },
    ],
    ['an event without a name', { type: 'event' }, 'name', /required/],
    [
      'a property filter path',
      event({ where: [{ property: '.total', compare: { op: 'exists' } }] }),
      'where.0.property',
      /empty parts/,
    ],
    [
      'a property filter operator',
      event({ where: [{ property: 'total', compare: { op: 'gt', value: 'x' } }] }),
      'where.0.compare.value',
      /ISO 8601/,
    ],
    [
      'too many filters',
      event({ where: Array.from({ length: 21 }, () => ({ property: 'a', compare: { op: 'exists' } })) }),
      'where',
      /length/,
    ],
    [
      'an unknown aggregate',
      event({ aggregate: { fn: 'avg', property: 'total', compare: { op: 'gt', value: 1 } } }),
      'aggregate.fn',
      /expected one of "count", "sum", "min", "max"$/,
    ],
    [
      'sum without a property',
      event({ aggregate: { fn: 'sum', compare: { op: 'gt', value: 1 } } }),
      'aggregate.property',
      /required for sum/,
    ],
    [
      'max without a property',
      event({ aggregate: { fn: 'max', compare: { op: 'gt', value: 1 } } }),
      'aggregate.property',
      /required for max/,
    ],
    [
      'count with a property',
      event({ aggregate: { fn: 'count', property: 'total', compare: { op: 'gt', value: 1 } } }),
      'aggregate.property',
      /count takes no property/,
    ],
    [
      'count compared with a fraction',
      event({ aggregate: { fn: 'count', compare: { op: 'gte', value: 1.5 } } }),
      'aggregate.compare.value',
      /whole numbers/,
    ],
    [
      'count compared with a negative',
      event({ aggregate: { fn: 'count', compare: { op: 'between', values: [-1, 2] } } }),
      'aggregate.compare.values',
      /whole numbers/,
    ],
    [
      'an aggregate compared with text',
      event({ aggregate: { fn: 'count', compare: { op: 'equals', value: 'two' } } }),
      'aggregate.compare.value',
      /number/,
    ],
    [
      'an aggregate with contains',
      event({ aggregate: { fn: 'count', compare: { op: 'contains', value: 2 } } }),
      'aggregate.compare.op',
      /one of "equals", "not_equals", "gt", "gte", "lt", "lte", "between"/,
    ],
    [
      'aggregate between with one value',
      event({ aggregate: { fn: 'sum', property: 't', compare: { op: 'between', values: [2] } } }),
      'aggregate.compare.values',
      /exactly two/,
    ],
    [
      'an unknown unit',
      event({ window: { last: 3, unit: 'years' } }),
      'window.unit',
      /expected one of "hours", "days", "weeks", "months"$/,
    ],
    ['a relative window without unit', event({ window: { last: 3 } }), 'window.unit', /required/],
    ['a zero window', event({ window: { last: 0, unit: 'days' } }), 'window.last', /greater or equal to 1/],
    ['a fractional window', event({ window: { last: 1.5, unit: 'days' } }), 'window.last', /integer/],
    [
      'a window longer than 10 years (days)',
      event({ window: { last: 3651, unit: 'days' } }),
      'window.last',
      /at most 3650 days/,
    ],
    [
      'a window longer than 10 years (hours)',
      event({ window: { last: 87_601, unit: 'hours' } }),
      'window.last',
      /at most 87600 hours/,
    ],
    [
      'a window longer than 10 years (weeks)',
      event({ window: { last: 522, unit: 'weeks' } }),
      'window.last',
      /at most 521 weeks/,
    ],
    [
      'a window longer than 10 years (months)',
      event({ window: { last: 122, unit: 'months' } }),
      'window.last',
      /at most 121 months/,
    ],
    ['an empty absolute window', event({ window: {} }), 'window', /needs "from", "to"/],
    ['an absolute window with a bad date', event({ window: { from: 'last monday' } }), 'window.from', /ISO 8601/],
    [
      'an absolute window of the wrong type',
      event({ window: { from: '2024-01-01', to: 5 } }),
      'window.to',
      /expected string/,
    ],
    [
      'an absolute window ending before it starts',
      event({ window: { from: '2024-02-01', to: '2024-01-01' } }),
      'window.to',
      /after "from"/,
    ],
    [
      'an absolute window of no time',
      event({ window: { from: '2024-02-01', to: '2024-02-01T00:00Z' } }),
      'window.to',
      /after "from"/,
    ],
    [
      'a window mixing both kinds',
      event({ window: { last: 3, unit: 'days', from: '2024-01-01' } }),
      'window.from',
      /unexpected property/,
    ],
    ['an unknown entity', { type: 'entity', entity: 'company' }, 'entity', /account/],
    [
      'an account filter path',
      { type: 'entity', entity: 'account', where: [{ key: 'a.', compare: { op: 'exists' } }] },
      'where.0.key',
      /empty parts/,
    ],
    [
      'a consent state',
      { type: 'consent', purpose: 'marketing', state: 'yes' },
      'state',
      /expected one of "granted", "denied"$/,
    ],
    ['an empty and', { type: 'and', conditions: [] }, 'conditions', /length/],
    ['too many children', { type: 'or', conditions: Array.from({ length: 51 }, () => trait) }, 'conditions', /length/],
    ['not without a condition', { type: 'not' }, 'condition', /required/],
    ['not with a list', { type: 'not', condition: [trait] }, 'condition', /expected an audience condition/],
    [
      `depth ${AUDIENCE_LIMITS.maxDepth + 1}`,
      nest(AUDIENCE_LIMITS.maxDepth + 1),
      `${'condition.'.repeat(AUDIENCE_LIMITS.maxDepth).slice(0, -1)}`,
      /deeper than 8 levels/,
    ],
    [
      `${AUDIENCE_LIMITS.maxConditions + 1} conditions`,
      { type: 'and', conditions: Array.from({ length: 50 }, () => ({ type: 'or', conditions: [trait, trait] })) },
      '(root)',
      /more than 100 conditions/,
    ],
    [
      'a deep error',
      {
        type: 'and',
        conditions: [
          trait,
          { type: 'or', conditions: [{ type: 'not', condition: event({ window: { last: -1, unit: 'days' } }) }] },
        ],
      },
      'conditions.1.conditions.0.condition.window.last',
      /greater or equal/,
    ],
  ];
  it.each(invalid)('%s', (_, json, field, message, opts) => {
    let caught: unknown;
    try {
      parseAudience(json, opts);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TesseraError);
    const error = caught as TesseraError;
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual({ field });
    expect(error.message.startsWith(`invalid audience: ${field}: `)).toBe(true);
    expect(error.message).toMatch(message);
  });

  it('survives a very deep value without walking all of it', () => {
    let deep: unknown = trait;
    for (let i = 0; i < 100_000; i++) deep = { type: 'not', condition: deep };
    expect(() => parseAudience(deep)).toThrow(/deeper than 8 levels/);
  });
});

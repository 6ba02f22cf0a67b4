import { type AudienceDefinition, EXAMPLE_AUDIENCE } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { summarise } from './summarise.js';

const t = (compare: Extract<AudienceDefinition, { type: 'trait' }>['compare'], key = 'plan'): AudienceDefinition => ({
  type: 'trait',
  key,
  compare,
});
const a = (key: string): AudienceDefinition => ({ type: 'audience', key });

describe('summarise', () => {
  const rows: [string, AudienceDefinition, string, string][] = [
    [
      'the worked example',
      EXAMPLE_AUDIENCE,
      'plan is gold and at least 2 × Order Completed with total > 50 in the last 30 days and not in audience X',
      "plan est gold et au moins 2 × Order Completed avec total > 50 au cours des 30 derniers jours et hors de l'audience X",
    ],
    ['equals', t({ op: 'equals', value: 'gold' }), 'plan is gold', 'plan est gold'],
    ['equals a number', t({ op: 'equals', value: 3 }, 'seats'), 'seats is 3', 'seats est 3'],
    ['equals a numeric string', t({ op: 'equals', value: '3' }, 'code'), 'code is "3"', 'code est "3"'],
    ['equals a boolean', t({ op: 'equals', value: true }, 'vip'), 'vip is true', 'vip est vrai'],
    ['equals false', t({ op: 'equals', value: false }, 'vip'), 'vip is false', 'vip est faux'],
    ['equals the string "true"', t({ op: 'equals', value: 'true' }, 'vip'), 'vip is "true"', 'vip est "true"'],
    ['equals the string "vrai"', t({ op: 'equals', value: 'vrai' }, 'vip'), 'vip is vrai', 'vip est "vrai"'],
    [
      'equals text with spaces',
      t({ op: 'equals', value: 'New York' }, 'city'),
      'city is "New York"',
      'city est "New York"',
    ],
    ['equals an empty string', t({ op: 'equals', value: '' }, 'city'), 'city is ""', 'city est ""'],
    ['not_equals', t({ op: 'not_equals', value: 'gold' }), 'plan is not gold', "plan n'est pas gold"],
    [
      'in',
      t({ op: 'in', values: ['gold', 'silver', 7] }),
      'plan is one of gold, silver, 7',
      "plan est l'un de gold, silver, 7",
    ],
    ['in with a comma', t({ op: 'in', values: ['a,b', 'c'] }), 'plan is one of "a,b", c', 'plan est l\'un de "a,b", c'],
    [
      'contains',
      t({ op: 'contains', value: '@acme.io' }, 'email'),
      'email contains @acme.io',
      'email contient @acme.io',
    ],
    [
      'starts_with',
      t({ op: 'starts_with', value: '+33' }, 'phone'),
      'phone starts with "+33"',
      'phone commence par "+33"',
    ],
    ['exists', t({ op: 'exists' }, 'email'), 'email is set', 'email est renseigné'],
    ['not_exists', t({ op: 'not_exists' }, 'email'), 'email is not set', "email n'est pas renseigné"],
    ['gt', t({ op: 'gt', value: 30 }, 'age'), 'age > 30', 'age > 30'],
    ['gte', t({ op: 'gte', value: 30 }, 'age'), 'age ≥ 30', 'age ≥ 30'],
    ['lt a date', t({ op: 'lt', value: '2024-01-01' }, 'signup'), 'signup < 2024-01-01', 'signup < 2024-01-01'],
    ['lte', t({ op: 'lte', value: -1.5 }, 'balance'), 'balance ≤ -1.5', 'balance ≤ -1.5'],
    ['between', t({ op: 'between', values: [18, 30] }, 'age'), 'age between 18 and 30', 'age entre 18 et 30'],
    [
      'a nested trait',
      t({ op: 'equals', value: 'Lyon' }, 'address.city'),
      'address.city is Lyon',
      'address.city est Lyon',
    ],
    [
      'a computed trait',
      { type: 'computed_trait', key: 'ltv', compare: { op: 'gt', value: 100 } },
      'computed trait ltv > 100',
      'trait calculé ltv > 100',
    ],
    ['an event, no aggregate', { type: 'event', name: 'Signed Up' }, 'did Signed Up', 'a fait Signed Up'],
    [
      'count = 0',
      {
        type: 'event',
        name: 'Order Completed',
        aggregate: { fn: 'count', compare: { op: 'equals', value: 0 } },
        window: { last: 1, unit: 'months' },
      },
      'did not do Order Completed in the last month',
      "n'a pas fait Order Completed au cours du dernier mois",
    ],
    [
      'count ≤ 3 in the last hour',
      {
        type: 'event',
        name: 'Login Failed',
        aggregate: { fn: 'count', compare: { op: 'lte', value: 3 } },
        window: { last: 1, unit: 'hours' },
      },
      'at most 3 × Login Failed in the last hour',
      'au plus 3 × Login Failed au cours de la dernière heure',
    ],
    [
      'count between, in weeks',
      {
        type: 'event',
        name: 'Visit',
        aggregate: { fn: 'count', compare: { op: 'between', values: [2, 5] } },
        window: { last: 2, unit: 'weeks' },
      },
      'between 2 and 5 × Visit in the last 2 weeks',
      'entre 2 et 5 × Visit au cours des 2 dernières semaines',
    ],
    [
      'count > and < in days and hours',
      {
        type: 'or',
        conditions: [
          {
            type: 'event',
            name: 'A',
            aggregate: { fn: 'count', compare: { op: 'gt', value: 1 } },
            window: { last: 1, unit: 'days' },
          },
          {
            type: 'event',
            name: 'B',
            aggregate: { fn: 'count', compare: { op: 'lt', value: 4 } },
            window: { last: 12, unit: 'hours' },
          },
        ],
      },
      'more than 1 × A in the last day or fewer than 4 × B in the last 12 hours',
      'plus de 1 × A au cours du dernier jour ou moins de 4 × B au cours des 12 dernières heures',
    ],
    [
      'count exactly / not exactly',
      {
        type: 'and',
        conditions: [
          { type: 'event', name: 'A', aggregate: { fn: 'count', compare: { op: 'equals', value: 2 } } },
          { type: 'event', name: 'B', aggregate: { fn: 'count', compare: { op: 'not_equals', value: 2 } } },
        ],
      },
      'exactly 2 × A and not exactly 2 × B',
      'exactement 2 × A et pas exactement 2 × B',
    ],
    [
      'a sum over an absolute window',
      {
        type: 'event',
        name: 'Order Completed',
        aggregate: { fn: 'sum', property: 'total', compare: { op: 'gte', value: 500 } },
        window: { from: '2024-01-01', to: '2025-01-01' },
      },
      'sum of total ≥ 500 over Order Completed from 2024-01-01 until 2025-01-01',
      'somme de total ≥ 500 sur Order Completed du 2024-01-01 au 2025-01-01 exclu',
    ],
    [
      'min since, max before',
      {
        type: 'and',
        conditions: [
          {
            type: 'event',
            name: 'Order Completed',
            aggregate: { fn: 'min', property: 'total', compare: { op: 'equals', value: 0 } },
            window: { from: '2024-01-01' },
          },
          {
            type: 'event',
            name: 'Order Completed',
            aggregate: { fn: 'max', property: 'total', compare: { op: 'between', values: [1, 9] } },
            window: { to: '2024-01-01' },
          },
        ],
      },
      'minimum of total = 0 over Order Completed since 2024-01-01 and maximum of total between 1 and 9 over Order Completed before 2024-01-01',
      'minimum de total = 0 sur Order Completed depuis le 2024-01-01 et maximum de total entre 1 et 9 sur Order Completed avant le 2024-01-01',
    ],
    [
      'an event with two filters inside an and is parenthesised',
      {
        type: 'and',
        conditions: [
          {
            type: 'event',
            name: 'Order Completed',
            where: [
              { property: 'total', compare: { op: 'gt', value: 50 } },
              { property: 'currency', compare: { op: 'equals', value: 'EUR' } },
            ],
          },
          a('vip'),
        ],
      },
      '(did Order Completed with total > 50 and currency is EUR) and in audience vip',
      "(a fait Order Completed avec total > 50 et currency est EUR) et dans l'audience vip",
    ],
    ['has an account', { type: 'entity', entity: 'account' }, 'has an account', 'a un compte'],
    [
      'an account with traits',
      {
        type: 'entity',
        entity: 'account',
        where: [
          { key: 'plan', compare: { op: 'equals', value: 'enterprise' } },
          { key: 'seats', compare: { op: 'gt', value: 10 } },
        ],
      },
      'has an account where plan is enterprise and seats > 10',
      'a un compte où plan est enterprise et seats > 10',
    ],
    [
      'consents',
      {
        type: 'and',
        conditions: [
          { type: 'consent', purpose: 'marketing', state: 'granted' },
          { type: 'consent', purpose: 'profiling', state: 'denied' },
        ],
      },
      'granted consent to marketing and denied consent to profiling',
      'a consenti à marketing et a refusé profiling',
    ],
    ['in an audience', a('vip'), 'in audience vip', "dans l'audience vip"],
    ['not in an audience', { type: 'not', condition: a('vip') }, 'not in audience vip', "hors de l'audience vip"],
    [
      'not of something else',
      { type: 'not', condition: t({ op: 'equals', value: 'gold' }) },
      'not (plan is gold)',
      'non (plan est gold)',
    ],
    [
      'nested groups are parenthesised',
      {
        type: 'or',
        conditions: [
          { type: 'and', conditions: [a('a'), a('b')] },
          { type: 'not', condition: { type: 'or', conditions: [a('c'), a('d')] } },
        ],
      },
      '(in audience a and in audience b) or not (in audience c or in audience d)',
      "(dans l'audience a et dans l'audience b) ou non (dans l'audience c ou dans l'audience d)",
    ],
    [
      'a group of one is not parenthesised',
      { type: 'and', conditions: [{ type: 'or', conditions: [a('a')] }, a('b')] },
      'in audience a and in audience b',
      "dans l'audience a et dans l'audience b",
    ],
  ];
  it.each(rows)('%s', (_, definition, en, fr) => {
    expect(summarise(definition, 'en')).toBe(en);
    expect(summarise(definition, 'fr')).toBe(fr);
  });
});

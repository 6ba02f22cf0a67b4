import { type AudienceDefinition, EXAMPLE_AUDIENCE } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../seeded-random.js';
import { evaluateAudience } from './evaluate.js';
import { nextExpiry } from './next-expiry.js';
import type { SnapshotEvent } from './profile-snapshot.js';
import { DAY, ev, HOUR, NOW, snapshot } from './test-snapshot.js';

const visits = (days: number): AudienceDefinition => ({
  type: 'event',
  name: 'Visit',
  window: { last: days, unit: 'days' },
});

describe('nextExpiry', () => {
  const rows: [string, AudienceDefinition, SnapshotEvent[], number | undefined][] = [
    ['no relative window', { type: 'trait', key: 'plan', compare: { op: 'exists' } }, [ev('Visit', NOW)], undefined],
    [
      'an absolute window',
      { type: 'event', name: 'Visit', window: { from: '2024-01-01' } },
      [ev('Visit', NOW)],
      undefined,
    ],
    ['no window', { type: 'event', name: 'Visit' }, [ev('Visit', NOW)], undefined],
    ['no events', visits(7), [], undefined],
    ['an event leaves its window at t + length', visits(7), [ev('Visit', NOW - DAY)], NOW + 6 * DAY],
    ['an event at now leaves after the full length', visits(7), [ev('Visit', NOW)], NOW + 7 * DAY],
    ['the earliest of several', visits(7), [ev('Visit', NOW - DAY), ev('Visit', NOW - 3 * DAY)], NOW + 4 * DAY],
    ['an event already out changes nothing', visits(7), [ev('Visit', NOW - 7 * DAY)], undefined],
    ['an event 1 ms from leaving', visits(7), [ev('Visit', NOW - 7 * DAY + 1)], NOW + 1],
    ['a future event enters at its time', visits(7), [ev('Visit', NOW + HOUR), ev('Visit', NOW - DAY)], NOW + HOUR],
    ['other event names are ignored', visits(7), [ev('Other', NOW - 6 * DAY), ev('Visit', NOW - DAY)], NOW + 6 * DAY],
    [
      'events failing the filters are ignored',
      {
        type: 'event',
        name: 'Visit',
        where: [{ property: 'page', compare: { op: 'equals', value: '/pricing' } }],
        window: { last: 2, unit: 'hours' },
      },
      [ev('Visit', NOW - HOUR, { page: '/' }), ev('Visit', NOW - 30 * 60_000, { page: '/pricing' })],
      NOW + 90 * 60_000,
    ],
    [
      'windows under not and or count, the earliest wins',
      {
        type: 'or',
        conditions: [
          { type: 'not', condition: visits(30) },
          { type: 'and', conditions: [visits(1), { type: 'audience', key: 'a' }] },
        ],
      },
      [ev('Visit', NOW - 2 * HOUR)],
      NOW + 22 * HOUR,
    ],
    [
      'months are 30 days',
      { type: 'event', name: 'Visit', window: { last: 1, unit: 'months' } },
      [ev('Visit', NOW)],
      NOW + 30 * DAY,
    ],
  ];
  it.each(rows)('%s', (_, definition, events, expected) => {
    expect(nextExpiry(definition, snapshot({ events }), NOW)).toBe(expected);
  });

  it('the worked example: the second-newest qualifying order decides', () => {
    const events = [
      ev('Order Completed', NOW - 2 * DAY, { total: 60 }),
      ev('Order Completed', NOW - 5 * DAY, { total: 10 }),
      ev('Order Completed', NOW - 20 * DAY, { total: 70 }),
    ];
    const s = snapshot({ traits: { plan: 'gold' }, events });
    const expiry = nextExpiry(EXAMPLE_AUDIENCE, s, NOW);
    expect(expiry).toBe(NOW + 10 * DAY);
    expect(evaluateAudience(EXAMPLE_AUDIENCE, s, expiry! - 1)).toBe(true);
    expect(evaluateAudience(EXAMPLE_AUDIENCE, s, expiry!)).toBe(false);
  });

  it('the result never changes before the expiry (random events and instants)', () => {
    const random = createSeededRandom(5);
    const definition: AudienceDefinition = {
      type: 'or',
      conditions: [
        {
          type: 'event',
          name: 'Order Completed',
          aggregate: { fn: 'count', compare: { op: 'gte', value: 2 } },
          window: { last: 3, unit: 'days' },
        },
        { type: 'not', condition: visits(1) },
      ],
    };
    let changes = 0;
    for (let run = 0; run < 300; run++) {
      const events = Array.from({ length: random.int(0, 4) }, () =>
        ev(random.chance(0.5) ? 'Visit' : 'Order Completed', NOW + Math.round((random.next() - 0.8) * 5 * DAY)),
      );
      const s = snapshot({ events });
      const before = evaluateAudience(definition, s, NOW);
      const expiry = nextExpiry(definition, s, NOW);
      const horizon = expiry ?? NOW + 30 * DAY;
      for (let probe = 0; probe < 10; probe++) {
        const at = NOW + Math.floor(random.next() * (horizon - NOW));
        expect(evaluateAudience(definition, s, at)).toBe(before);
      }
      if (expiry !== undefined && evaluateAudience(definition, s, expiry) !== before) changes += 1;
    }
    expect(changes).toBeGreaterThan(20);
  });
});

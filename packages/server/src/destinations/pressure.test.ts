import type { PressurePolicy } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { capUse, decidePressure, quietUntil } from './pressure.js';

/** Marketing-pressure rules as tables (DESIGN §7): caps across and per channel, quiet hours in the person's zone. */

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0); // 12:00 UTC, 13:00 in Paris
const policy = (over: Partial<PressurePolicy> = {}): PressurePolicy => ({
  caps: [
    { channel: 'any', max: 3, days: 7 },
    { channel: 'sms', max: 1, days: 7 },
  ],
  quietHours: { start: '21:00', end: '08:00' },
  defaultTimezone: 'Europe/Paris',
  overCap: 'hold',
  ...over,
});
const sent = (...items: [string, number][]) =>
  items.map(([channel, daysAgo]) => ({ channel, at: NOW - daysAgo * DAY }));

describe('decidePressure', () => {
  it.each([
    ['nothing sent: an e-mail goes', sent(), 'email', undefined],
    ['two e-mails this week: a third goes', sent(['email', 1], ['email', 2]), 'email', undefined],
    [
      'three messages this week: the 3-per-7-days cap holds an e-mail',
      sent(['email', 1], ['push', 2], ['sms', 3]),
      'email',
      'cap',
    ],
    [
      'three messages, one older than 7 days: an e-mail goes',
      sent(['email', 1], ['email', 2], ['email', 8]),
      'email',
      undefined,
    ],
    ['one SMS this week: the SMS cap holds another SMS', sent(['sms', 6]), 'sms', 'cap'],
    ['one SMS this week: an e-mail still goes', sent(['sms', 6]), 'email', undefined],
    [
      'a channel the caps do not name counts for "any" only',
      sent(['whatsapp', 1], ['whatsapp', 2], ['whatsapp', 3]),
      'email',
      'cap',
    ],
    [
      'messages in the future (a clock skew) do not count',
      sent(['email', -1], ['email', -2], ['email', -3]),
      'email',
      undefined,
    ],
  ] as const)('%s', (_what, history, channel, rule) => {
    expect(decidePressure(policy(), history, channel, NOW, 'Europe/Paris')?.rule).toBe(rule);
  });

  it('says when a cap frees a slot: when enough of the oldest messages leave the window', () => {
    const block = decidePressure(policy(), sent(['email', 1], ['email', 2], ['email', 5]), 'email', NOW, 'UTC');
    expect(block).toMatchObject({ rule: 'cap', until: NOW - 5 * DAY + 7 * DAY + 1 });
    expect(block?.reason).toBe('at most 3 messages per 7 days (3 sent)');
    const sms = decidePressure(policy(), sent(['sms', 2]), 'sms', NOW, 'UTC');
    expect(sms).toMatchObject({ until: NOW - 2 * DAY + 7 * DAY + 1 });
    expect(sms?.reason).toBe('at most 1 sms message per 7 days (1 sent)');
  });

  it('a cap of 0 never lifts', () => {
    const p = policy({ caps: [{ channel: 'push', max: 0, days: 1 }] });
    expect(decidePressure(p, [], 'push', NOW, 'UTC')?.until).toBe(Number.POSITIVE_INFINITY);
  });

  it('holds until the quiet hours end in the person’s time zone, and the later of two rules binds', () => {
    // 21:30 in Paris (20:30 UTC in winter): quiet until 08:00 Paris, 07:00 UTC the next day.
    const evening = Date.UTC(2026, 10, 20, 20, 30);
    const quiet = decidePressure(policy(), [], 'email', evening, 'Europe/Paris');
    expect(quiet).toMatchObject({ rule: 'quiet_hours', until: Date.UTC(2026, 10, 21, 7, 0) });
    expect(quiet?.reason).toBe('quiet hours 21:00–08:00 in Europe/Paris');
    // Same instant, 15:30 in New York: not quiet there.
    expect(decidePressure(policy(), [], 'email', evening, 'America/New_York')).toBeUndefined();
    // Over the cap too, and the cap lifts later than the night: the cap binds.
    const both = decidePressure(
      policy(),
      sent(['email', 0.1], ['email', 1], ['email', 2]),
      'email',
      evening,
      'Europe/Paris',
    );
    expect(both?.rule).toBe('cap');
  });
});

describe('quietUntil', () => {
  it.each([
    ['across midnight, before the start', '21:00', '08:00', '20:59', undefined],
    ['across midnight, at the start', '21:00', '08:00', '21:00', '08:00'],
    ['across midnight, after midnight', '21:00', '08:00', '03:15', '08:00'],
    ['across midnight, at the end', '21:00', '08:00', '08:00', undefined],
    ['within a day', '12:00', '14:00', '13:00', '14:00'],
    ['within a day, outside', '12:00', '14:00', '14:30', undefined],
    ['start equals end: never quiet', '10:00', '10:00', '10:00', undefined],
  ] as const)('%s', (_what, start, end, local, until) => {
    const [h, m] = local.split(':').map(Number) as [number, number];
    const at = Date.UTC(2026, 5, 1, h, m, 30);
    const got = quietUntil({ start, end }, at, 'UTC');
    if (until === undefined) expect(got).toBeUndefined();
    else {
      const [eh, em] = until.split(':').map(Number) as [number, number];
      const expected = Date.UTC(2026, 5, 1, eh, em) + (eh * 60 + em <= h * 60 + m ? DAY : 0);
      expect(got).toBe(expected);
    }
  });
});

describe('capUse', () => {
  it('counts, per cap, the messages in its window', () => {
    expect(capUse(policy(), sent(['sms', 1], ['email', 2], ['email', 9]), NOW)).toEqual([
      { channel: 'any', max: 3, days: 7, used: 2 },
      { channel: 'sms', max: 1, days: 7, used: 1 },
    ]);
  });
});

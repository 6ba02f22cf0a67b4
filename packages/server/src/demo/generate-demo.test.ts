import { Value } from '@sinclair/typebox/value';
import { TrackingEvent } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { DEMO_SOURCES } from './demo-sources.js';
import { generateDemo } from './generate-demo.js';
import { contactsOf, DEMO, NOW, normEmail, normPhone, SEED } from './test/demo-fixture.js';

const DAY = 86_400_000;

describe('generateDemo', () => {
  it('is deterministic: the same options give the same data, another seed other data', () => {
    expect(generateDemo({ seed: SEED, now: NOW })).toEqual(DEMO);
    const other = generateDemo({ seed: SEED + 1, now: NOW });
    expect(other.people.map((p) => p.email)).not.toEqual(DEMO.people.map((p) => p.email));
  });

  it('defaults to 200 people, the five sources and the current time', () => {
    const before = Date.now();
    const data = generateDemo({ seed: 5 });
    expect(data.people).toHaveLength(200);
    expect(data.sources).toEqual(DEMO_SOURCES.map((s) => ({ name: s.name, kind: 'tracking' })));
    const last = Date.parse(String(data.calls.at(-1)?.call.timestamp));
    expect(last).toBeLessThan(Date.now());
    expect(last).toBeGreaterThan(before - 7 * DAY);
    expect(new Set(data.calls.map((c) => c.source))).toEqual(new Set(DEMO_SOURCES.map((s) => s.name)));
  });

  it('numbers the calls demo-<seed>-<n> in chronological order within the 90 days before now', () => {
    const times = DEMO.calls.map((c) => Date.parse(String(c.call.timestamp)));
    expect(DEMO.calls.map((c) => c.call.messageId)).toEqual(DEMO.calls.map((_, n) => `demo-${SEED}-${n + 1}`));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
    expect(times[0]).toBeGreaterThanOrEqual(NOW.getTime() - 90 * DAY);
    expect(times.at(-1)).toBeLessThan(NOW.getTime());
    for (const c of DEMO.calls) expect(new Date(String(c.call.timestamp)).toISOString()).toBe(c.call.timestamp);
  });

  it('writes only calls the tracking API accepts: Segment shape with an identity', () => {
    for (const { call } of DEMO.calls) {
      expect(Value.Check(TrackingEvent, call), JSON.stringify(call)).toBe(true);
      const hasId = typeof call.userId === 'string' || typeof call.anonymousId === 'string';
      expect(hasId, String(call.messageId)).toBe(true);
      if (call.type === 'alias') expect(typeof call.previousId).toBe('string');
      expect(JSON.stringify(call).length).toBeLessThan(32 * 1024);
    }
  });

  it('writes e-mails that normalise to a truth e-mail (or the blocked value)', () => {
    const truth = new Set([...DEMO.people.map((p) => p.email), DEMO.tricky.blockedEmail.value]);
    const raw = DEMO.calls.flatMap((c) => contactsOf(c, 'email'));
    expect(raw.some((e) => e !== normEmail(e))).toBe(true);
    for (const e of raw) expect(truth.has(normEmail(e)), String(e)).toBe(true);
  });

  it('writes phones as people type them, each normalising to a truth number', () => {
    const truth = new Set(DEMO.people.map((p) => p.phone));
    const raw = DEMO.calls.flatMap((c) => contactsOf(c, 'phone')).map(String);
    expect(new Set(raw.map((p) => (p.startsWith('+') ? 'international' : 'national')))).toEqual(
      new Set(['international', 'national']),
    );
    for (const p of raw) {
      expect(p).toMatch(/^[0-9 +()-]+$/);
      expect(truth.has(normPhone(p) ?? ''), p).toBe(true);
    }
  });

  it('writes French national formats when the receiving region is France', () => {
    const data = generateDemo({ seed: 9, people: 60, now: NOW, phoneRegion: 'FR' });
    const raw = data.calls.flatMap((c) => contactsOf(c, 'phone')).map(String);
    expect(raw.some((p) => /^0[67] \d\d \d\d \d\d \d\d$/.test(p))).toBe(true);
    const truth = new Set(data.people.map((p) => p.phone));
    for (const p of raw) expect(truth.has(normPhone(p, 'FR') ?? ''), p).toBe(true);
  });

  it('keeps a consistent ground truth: unique keys, phones and user ids; normalised e-mails', () => {
    const unique = (xs: unknown[]) => new Set(xs).size === xs.length;
    const withUserId = DEMO.people.filter((p) => p.userId);
    expect(unique(DEMO.people.map((p) => p.key))).toBe(true);
    expect(unique(DEMO.people.map((p) => p.phone))).toBe(true);
    expect(unique(withUserId.map((p) => p.userId))).toBe(true);
    expect(new Set(DEMO.people.map((p) => p.email)).size).toBe(DEMO.people.length - 1); // one reused on purpose
    for (const p of DEMO.people) expect(p.email).toBe(normEmail(p.email));
    expect(withUserId.length / DEMO.people.length).toBeGreaterThan(0.45);
  });

  it('shares no nested object between two calls (a consumer may mutate one)', () => {
    const seen = new Set<object>();
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object') return;
      expect(seen.has(v)).toBe(false);
      seen.add(v);
      for (const child of Object.values(v)) walk(child);
    };
    for (const c of DEMO.calls) walk(c);
  });

  it('works down to the four people the tricky records need', () => {
    const data = generateDemo({ seed: 3, people: 4, now: NOW });
    expect(data.people).toHaveLength(4);
    expect(data.people.every((p) => p.userId)).toBe(true);
    expect(data.tricky.blockedEmail.messageIds).toHaveLength(4);
  });

  it.each([{ people: 3 }, { people: 10.5 }, { seed: Number.NaN }, { now: new Date('nope') }])(
    'refuses invalid options %o',
    (opts) => {
      expect(() => generateDemo(opts)).toThrow(RangeError);
    },
  );
});

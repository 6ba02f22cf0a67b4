import { describe, expect, it } from 'vitest';
import { callsOf, DEMO, obj, personByUserId } from './test/demo-fixture.js';

const mobile = callsOf('mobile-app');
const joins = mobile.filter((c) => c.type === 'alias' || (c.type === 'identify' && c.userId !== undefined));
const identified = DEMO.people.filter((p) => p.userId).length;
const webAnonymousIds = new Set(callsOf('website').map((c) => c.anonymousId));

describe('mobileJourney', () => {
  it('gives about 30% of the identified people a second device', () => {
    expect(new Set(joins.map((c) => c.userId)).size).toBe(joins.length);
    expect(joins.length / identified).toBeGreaterThan(0.15);
    expect(joins.length / identified).toBeLessThan(0.45);
  });

  it('joins the app anonymousId by identify or, for about 10%, by alias', () => {
    const aliases = joins.filter((c) => c.type === 'alias');
    expect(aliases.length).toBeGreaterThan(0);
    expect(aliases.length / identified).toBeLessThan(0.2);
    for (const join of joins) {
      const appId = join.type === 'alias' ? join.previousId : join.anonymousId;
      expect(personByUserId(join.userId)).toBeDefined();
      expect(webAnonymousIds.has(appId)).toBe(false);
      const before = mobile.filter((c) => c.anonymousId === appId && c.userId === undefined);
      expect(before.length).toBeGreaterThan(0);
      for (const c of before) expect(String(c.timestamp) <= String(join.timestamp)).toBe(true);
    }
    for (const alias of aliases) expect(Object.keys(alias)).not.toContain('anonymousId');
  });

  it('sends screens and tracks with the app and device context', () => {
    const types = new Set(mobile.map((c) => c.type));
    expect(types).toEqual(new Set(['screen', 'track', 'identify', 'alias']));
    for (const c of mobile) {
      const context = obj(c.context);
      expect(obj(context.app).name).toBe('Tessera Shop');
      expect(['ios', 'android']).toContain(obj(context.device).type);
      if (c.type === 'screen') expect(typeof c.name).toBe('string');
    }
  });
});

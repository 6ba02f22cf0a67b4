import { describe, expect, it } from 'vitest';
import { callsOf, DEMO, obj, personByUserId } from './test/demo-fixture.js';

const groups = callsOf('b2b-portal');

describe('b2bAccounts', () => {
  it('ties about 15% of the identified people to at most ten accounts', () => {
    const identified = DEMO.people.filter((p) => p.userId).length;
    expect(groups.length / identified).toBeGreaterThan(0.05);
    expect(groups.length / identified).toBeLessThan(0.3);
    const accounts = new Set(groups.map((g) => g.groupId));
    expect(accounts.size).toBeGreaterThan(1);
    expect(accounts.size).toBeLessThanOrEqual(10);
  });

  it('writes group calls with the user id and the account traits', () => {
    const traitsOf = new Map<unknown, string>();
    const firstLogin = new Map<unknown, string>();
    for (const c of callsOf('website', 'identify'))
      if (!firstLogin.has(c.userId)) firstLogin.set(c.userId, String(c.timestamp));
    for (const g of groups) {
      expect(g.type).toBe('group');
      expect(g.groupId).toMatch(/^acct-\d{3}$/);
      expect(personByUserId(g.userId)).toBeDefined();
      expect(String(g.timestamp) > String(firstLogin.get(g.userId))).toBe(true);
      const traits = obj(g.traits);
      expect(traits).toMatchObject({
        name: expect.any(String),
        industry: expect.any(String),
        employees: expect.any(Number),
      });
      expect(['starter', 'business', 'enterprise']).toContain(traits.plan);
      const json = JSON.stringify(traits);
      expect(traitsOf.get(g.groupId) ?? json).toBe(json);
      traitsOf.set(g.groupId, json);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { callsOf, DEMO, normEmail, normPhone, obj, personByUserId } from './test/demo-fixture.js';

const web = callsOf('website');
const identifies = web.filter((c) => c.type === 'identify' && c.userId !== undefined);
const firstIdentify = new Map<unknown, Record<string, unknown>>();
for (const c of identifies) if (!firstIdentify.has(c.userId)) firstIdentify.set(c.userId, c);

describe('webJourney', () => {
  it('writes anonymous page views in the Segment page shape', () => {
    const pages = web.filter((c) => c.type === 'page');
    expect(pages.filter((p) => p.userId === undefined).length).toBeGreaterThan(pages.length / 3);
    for (const p of pages) {
      expect(typeof p.name).toBe('string');
      expect(Object.keys(obj(p.properties)).sort()).toEqual(['path', 'referrer', 'title', 'url']);
      const context = obj(p.context);
      expect(obj(context.page).url).toBe(obj(p.properties).url);
      expect(context.ip).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
      expect(context.userAgent).toMatch(/^Mozilla\/5\.0 /);
      expect(context.locale).toMatch(/^[a-z]{2}-[A-Z]{2}$/);
    }
  });

  it('identifies people after anonymous visits from the same anonymousId', () => {
    expect(firstIdentify.size).toBeGreaterThan(DEMO.people.length * 0.45);
    for (const identify of identifies) {
      const earlier = web.find((c) => c.anonymousId === identify.anonymousId && c.userId === undefined);
      expect(earlier, String(identify.messageId)).toBeDefined();
      expect(String(earlier?.timestamp) <= String(identify.timestamp)).toBe(true);
    }
  });

  it('sends traits that normalise to the ground truth', () => {
    for (const [userId, identify] of firstIdentify) {
      const person = personByUserId(userId);
      const traits = obj(identify.traits);
      expect(person).toBeDefined();
      expect(normEmail(traits.email)).toBe(person?.email);
      if (traits.phone === undefined) continue; // the family tablet's quick login
      expect(normPhone(traits.phone)).toBe(person?.phone);
      expect([traits.firstName, traits.lastName]).toEqual([person?.firstName, person?.lastName]);
      expect(['free', 'pro', 'gold']).toContain(traits.plan);
      expect(new Date(String(traits.createdAt)).toISOString()).toBe(traits.createdAt);
    }
  });

  it('tracks e-commerce events as the user, with consistent orders', () => {
    const tracks = web.filter((c) => c.type === 'track' && c.userId !== undefined);
    expect(new Set(tracks.map((t) => t.event))).toEqual(
      new Set(['Product Viewed', 'Product Added', 'Order Completed']),
    );
    const orders = callsOf('website', 'track').filter((t) => t.event === 'Order Completed');
    for (const order of orders) {
      const props = obj(order.properties);
      expect(props).toMatchObject({ orderId: expect.stringMatching(/^ORD-\d+$/), currency: 'EUR' });
      const lines = props.products as { sku: string; name: string; price: number; quantity: number }[];
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(Object.keys(l).sort()).toEqual(['name', 'price', 'quantity', 'sku']);
      const sum = lines.reduce((s, l) => s + l.price * l.quantity, 0);
      expect(props.total).toBeCloseTo(sum, 2);
    }
  });

  it('captures Segment consent for most people, and later changes of mind', () => {
    const withConsent = [...firstIdentify.values()].filter((c) => obj(obj(c.context).consent).categoryPreferences);
    expect(withConsent.length).toBeGreaterThan(firstIdentify.size * 0.7);
    for (const c of withConsent) {
      const prefs = obj(obj(obj(c.context).consent).categoryPreferences);
      expect(Object.keys(prefs).sort()).toEqual(['advertising', 'analytics', 'marketing']);
      for (const v of Object.values(prefs)) expect(typeof v).toBe('boolean');
    }
    const changed = identifies.filter((c) => {
      const first = firstIdentify.get(c.userId);
      const prefs = (x: unknown) => JSON.stringify(obj(obj(obj(x).context).consent).categoryPreferences);
      return c !== first && obj(c.context).consent && prefs(c) !== prefs(first);
    });
    expect(changed.length).toBeGreaterThan(0);
  });

  it('includes visitors who never log in', () => {
    const identified = new Set(identifies.map((c) => c.anonymousId));
    const anonymousOnly = new Set(web.filter((c) => !identified.has(c.anonymousId)).map((c) => c.anonymousId));
    expect(anonymousOnly.size).toBeGreaterThan(DEMO.people.length / 2);
  });
});

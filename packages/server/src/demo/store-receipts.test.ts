import { describe, expect, it } from 'vitest';
import { callsOf, DEMO, normEmail, normPhone, obj } from './test/demo-fixture.js';

const receipts = callsOf('store-pos');

describe('storeReceipts', () => {
  it('writes till receipts without user id, one fresh anonymousId each', () => {
    expect(receipts.length).toBeGreaterThan(DEMO.people.length * 0.3);
    expect(new Set(receipts.map((r) => r.anonymousId)).size).toBe(receipts.length);
    for (const r of receipts) {
      expect(r).toMatchObject({
        type: 'track',
        event: 'Order Completed',
        anonymousId: expect.stringMatching(/^pos-\d+$/),
      });
      expect(r.userId).toBeUndefined();
      const props = obj(r.properties);
      expect(props).toMatchObject({
        channel: 'store',
        currency: 'EUR',
        storeId: expect.stringMatching(/^store-\d{3}$/),
      });
      expect(typeof props.total).toBe('number');
    }
  });

  it('identifies the customer only by an e-mail or a phone in context.traits', () => {
    const blocked = new Set(DEMO.tricky.blockedEmail.messageIds);
    for (const r of receipts) {
      const keys = Object.keys(obj(obj(r.context).traits)).sort();
      expect(keys).toEqual(
        blocked.has(String(r.messageId)) ? ['email', 'phone'] : [expect.stringMatching(/^(email|phone)$/)],
      );
    }
  });

  it('writes e-mails in variant forms and phones in national and international formats', () => {
    const traits = receipts.map((r) => obj(obj(r.context).traits));
    const emails = traits.map((t) => t.email).filter((e): e is string => typeof e === 'string');
    const phones = traits.map((t) => t.phone).filter((p): p is string => typeof p === 'string');
    expect(emails.some((e) => e !== e.trim())).toBe(true);
    expect(emails.some((e) => e.trim() !== e.trim().toLowerCase())).toBe(true);
    expect(phones.some((p) => p.startsWith('+'))).toBe(true);
    expect(phones.some((p) => !p.startsWith('+'))).toBe(true);
    const truthEmails = new Set(DEMO.people.map((p) => p.email));
    const truthPhones = new Set(DEMO.people.map((p) => p.phone));
    for (const e of emails) expect(truthEmails.has(normEmail(e)) || normEmail(e) === 'test@test.com').toBe(true);
    for (const p of phones) expect(truthPhones.has(normPhone(p) ?? '')).toBe(true);
  });
});

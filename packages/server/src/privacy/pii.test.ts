import { describe, expect, it } from 'vitest';
import { createMasker, maskValue } from './pii.js';

describe('maskValue', () => {
  it.each([
    ['email', 'jeanne.martin@example.com', 'j***@***.com'],
    ['email', 'not-an-email', '***'],
    ['phone', '+33612345678', '***78'],
    ['phone', '123', '***'],
    ['name', 'Jeanne', 'J***'],
    ['address', '12 rue des Lilas', '***'],
    ['ip', '203.0.113.7', '***'],
    ['birthdate', 19800101, '***'],
    ['name', null, null],
  ] as const)('%s %j → %j', (cls, value, masked) => {
    expect(maskValue(cls, value)).toEqual(masked);
  });
});

describe('createMasker', () => {
  const { mask } = createMasker({ loyaltyCard: 'other', first_name: 'none' });

  it('masks classified fields inside personal documents at any depth, and leaves the rest', () => {
    const body = {
      id: 'prof_1',
      name: 'Repeat buyers',
      traits: {
        Email: 'a@b.fr',
        first_name: 'Ann',
        last_name: 'Lee',
        loyalty_card: 'LC-1',
        plan: 'gold',
        address: { street: '1 rue', city: 'Lyon' },
      },
      events: [
        {
          name: 'Order Completed',
          properties: { name: 'Blue mug', email: 'a@b.fr' },
          context: { ip: '1.2.3.4', traits: { phone: '+3361234', name: 'Ann Lee' } },
        },
      ],
    };
    expect(mask(body)).toEqual({
      id: 'prof_1',
      name: 'Repeat buyers',
      traits: {
        Email: 'a***@***.fr',
        first_name: 'Ann',
        last_name: 'L***',
        loyalty_card: '***',
        plan: 'gold',
        address: { street: '***', city: '***' },
      },
      events: [
        {
          name: 'Order Completed',
          properties: { name: 'Blue mug', email: 'a***@***.fr' },
          context: { ip: '***', traits: { phone: '***34', name: 'A***' } },
        },
      ],
    });
  });

  it('masks identifiers by type, history intervals by trait, and raw payloads kept as JSON text', () => {
    expect(
      mask({
        identities: [
          { type: 'email', value: 'a@b.fr' },
          { type: 'user_id', value: 'u1' },
        ],
        history: [{ trait: 'lastName', value: 'Lee' }],
        comparison: [
          { field: 'email', left: 'a@b.fr', right: 'a@c.fr' },
          { field: 'city', left: 'Lyon', right: 'Lyon' },
        ],
        quarantine: [{ payload: '{"userId":"u1","traits":{"email":"a@b.fr"}}' }, { payload: 'not json' }],
      }),
    ).toEqual({
      identities: [
        { type: 'email', value: 'a***@***.fr' },
        { type: 'user_id', value: 'u1' },
      ],
      history: [{ trait: 'lastName', value: 'L***' }],
      comparison: [
        { field: 'email', left: 'a***@***.fr', right: 'a***@***.fr' },
        { field: 'city', left: 'Lyon', right: 'Lyon' },
      ],
      quarantine: [{ payload: '{"userId":"u1","traits":{"email":"a***@***.fr"}}' }, { payload: 'not json' }],
    });
  });
});

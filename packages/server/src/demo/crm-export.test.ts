import { describe, expect, it } from 'vitest';
import { callsOf, DEMO, normEmail, obj } from './test/demo-fixture.js';

const records = callsOf('crm-export');

describe('crmExport', () => {
  it('writes one identify per CRM contact, keyed by context.externalIds crm_id', () => {
    const inCrm = DEMO.people.filter((p) => p.crmId);
    expect(records).toHaveLength(inCrm.length);
    expect(inCrm.length / DEMO.people.length).toBeGreaterThan(0.4);
    for (const [i, r] of records.entries()) {
      const person = inCrm[i];
      expect(r.type).toBe('identify');
      expect(r.userId).toBeUndefined();
      expect(obj(r.context).externalIds).toEqual([
        { type: 'crm_id', id: person.crmId, collection: 'users', encoding: 'none' },
      ]);
      expect(person.crmId).toMatch(/^CRM-\d{6}$/);
      expect(r.anonymousId).toBe(`crm-${person.crmId?.slice(4)}`);
    }
  });

  it('carries the CRM traits, e-mail normalising to the truth', () => {
    const inCrm = DEMO.people.filter((p) => p.crmId);
    for (const [i, r] of records.entries()) {
      const traits = obj(r.traits);
      expect(Object.keys(traits).sort()).toEqual(['birthday', 'city', 'country', 'email', 'firstName', 'lastName']);
      expect(normEmail(traits.email)).toBe(inCrm[i].email);
      expect(String(traits.lastName).toLowerCase()).toBe(inCrm[i].lastName.toLowerCase());
      expect(['FR', 'US']).toContain(traits.country);
      expect(traits.birthday).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});

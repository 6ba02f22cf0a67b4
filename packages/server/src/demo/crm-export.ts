import { between, DAY_MS } from './demo-clock.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import { emailVariant } from './email-variant.js';
import type { PersonPlan } from './plan-people.js';

const LIBRARY = { name: 'tessera-crm-export', version: '2.0.4' };

/**
 * The CRM's nightly export, replayed once: an `identify` per CRM contact, without user id (anonymousId
 * `crm-<number>`), keyed by `context.externalIds: [{ type: 'crm_id', id: 'CRM-000123' }]`, with the e-mail as the
 * CRM holds it (often with odd casing or spaces), names, city, country and birthday.
 */
export function crmExport(ctx: DemoContext, plans: readonly PersonPlan[]): PendingCall[] {
  const { rnd, window } = ctx;
  let at = between(rnd, window.start + 20 * DAY_MS, window.end - 20 * DAY_MS);
  const out: PendingCall[] = [];
  for (const plan of plans) {
    const { person } = plan;
    if (person.crmId === undefined) continue;
    at += rnd.int(50, 400);
    const traits = {
      email: rnd.chance(0.3) ? emailVariant(rnd, person.email) : person.email,
      firstName: person.firstName,
      lastName: rnd.chance(0.15) ? person.lastName.toUpperCase() : person.lastName,
      city: plan.city,
      country: plan.country,
      birthday: plan.birthday,
    };
    const context = {
      externalIds: [{ type: 'crm_id', id: person.crmId, collection: 'users', encoding: 'none' }],
      library: { ...LIBRARY },
    };
    const call = { type: 'identify', anonymousId: `crm-${person.crmId.slice(4)}`, traits, context };
    out.push({ at, source: 'crm-export', call });
  }
  return out;
}

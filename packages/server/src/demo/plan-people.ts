import { between, DAY_MS, type DemoWindow, HOUR_MS, MINUTE_MS } from './demo-clock.js';
import { type ConsentPreferences, changeConsent, createConsent } from './demo-consent.js';
import type { DemoPerson } from './demo-data.js';
import type { DemoRandom } from './demo-random.js';
import { createPhoneAllocator, type DemoCountry } from './phone-numbers.js';
import { uniqueEmail } from './unique-email.js';

/** Everything the generator decides about one person before writing calls. */
export interface PersonPlan {
  person: DemoPerson;
  country: DemoCountry;
  locale: 'fr-FR' | 'en-US';
  city: string;
  /** `YYYY-MM-DD`. */
  birthday: string;
  plan: 'free' | 'pro' | 'gold';
  /** The website's anonymousId (cookie) of the person's computer. */
  webAnonymousId: string;
  firstVisitAt: number;
  /** Time of the first login; set exactly when `person.userId` is. */
  identifiedAt?: number;
  /** A phone with the shop's app, joined to the user id by an identify or an alias call. */
  mobile?: { anonymousId: string; startAt: number; joinBy: 'identify' | 'alias' };
  consent?: ConsentPreferences;
  /** A later identify that changes the consent. */
  consentChange?: { at: number; to: ConsentPreferences };
  storeReceipts: number;
}

/** Indices of the people the tricky records are built around (all identified). */
export const TRICKY_PEOPLE = { tabletOwner: 0, tabletRelative: 1, emailOwner: 2, emailReuser: 3 } as const;

/**
 * Plans `count` people (at least 4): names and contact points, which channels they use and when. People 0 and 1
 * share a last name and a tablet; person 3 signs up with person 2's e-mail after person 2 did.
 */
export function planPeople(rnd: DemoRandom, count: number, window: DemoWindow): PersonPlan[] {
  const allocatePhone = createPhoneAllocator(rnd);
  const usedEmails = new Set<string>();
  const usedUserIds = new Set<string>();
  const crmBase = rnd.int(1, 400_000);
  const plans: PersonPlan[] = [];
  for (let i = 0; i < count; i++) {
    const { e164, country } = allocatePhone(rnd.chance(0.6) ? 'FR' : 'US');
    const f = country === 'FR' ? rnd.fakerFr : rnd.faker;
    const firstName = f.person.firstName();
    const lastName = i === TRICKY_PEOPLE.tabletRelative ? plans[0].person.lastName : f.person.lastName();
    const email =
      i === TRICKY_PEOPLE.emailReuser
        ? plans[TRICKY_PEOPLE.emailOwner].person.email
        : uniqueEmail(rnd, firstName, lastName, usedEmails);
    const identified = i <= TRICKY_PEOPLE.emailReuser || rnd.chance(0.6);
    const person: DemoPerson = {
      key: `person-${String(i + 1).padStart(4, '0')}`,
      email,
      phone: e164,
      firstName,
      lastName,
    };
    if (identified) {
      let userId: string;
      do userId = `user-${rnd.faker.string.alphanumeric({ length: 10, casing: 'lower' })}`;
      while (usedUserIds.has(userId));
      usedUserIds.add(userId);
      person.userId = userId;
    }
    if (rnd.chance(0.55)) person.crmId = `CRM-${String(crmBase + i).padStart(6, '0')}`;
    const firstVisitAt = firstVisit(rnd, i, plans, window);
    const plan: PersonPlan = {
      person,
      country,
      locale: country === 'FR' ? 'fr-FR' : 'en-US',
      city: f.location.city(),
      birthday: rnd.faker.date.birthdate({ mode: 'age', min: 18, max: 80 }).toISOString().slice(0, 10),
      plan: rnd.faker.helpers.weightedArrayElement([
        { weight: 6, value: 'free' as const },
        { weight: 3, value: 'pro' as const },
        { weight: 1, value: 'gold' as const },
      ]),
      webAnonymousId: rnd.faker.string.uuid(),
      firstVisitAt,
      storeReceipts: rnd.chance(0.35) ? rnd.int(1, 3) : 0,
    };
    if (identified) planIdentified(rnd, plan, window);
    plans.push(plan);
  }
  return plans;
}

/** The e-mail's owner comes in the first month; whoever reuses the e-mail comes after the owner logged in. */
function firstVisit(rnd: DemoRandom, index: number, plans: readonly PersonPlan[], window: DemoWindow): number {
  if (index === TRICKY_PEOPLE.emailOwner) return between(rnd, window.start, window.start + 30 * DAY_MS);
  const latest = window.start + 70 * DAY_MS;
  if (index === TRICKY_PEOPLE.emailReuser)
    return between(rnd, plans[TRICKY_PEOPLE.emailOwner].identifiedAt! + HOUR_MS, latest);
  return between(rnd, window.start, latest);
}

function planIdentified(rnd: DemoRandom, plan: PersonPlan, window: DemoWindow): void {
  const sameSession = rnd.chance(0.5);
  const identifiedAt = sameSession
    ? plan.firstVisitAt + rnd.int(25, 40) * MINUTE_MS
    : plan.firstVisitAt + rnd.int(1, 10) * DAY_MS + rnd.int(0, 12) * HOUR_MS;
  plan.identifiedAt = identifiedAt;
  if (rnd.chance(0.3)) {
    plan.mobile = {
      anonymousId: rnd.faker.string.uuid().toUpperCase(),
      startAt: between(rnd, identifiedAt + HOUR_MS, window.end - 3 * DAY_MS),
      joinBy: rnd.chance(1 / 3) ? 'alias' : 'identify',
    };
  }
  if (rnd.chance(0.85)) {
    plan.consent = createConsent(rnd);
    if (rnd.chance(0.1)) {
      plan.consentChange = {
        at: between(rnd, identifiedAt + DAY_MS, window.end),
        to: changeConsent(rnd, plan.consent),
      };
    }
  }
}

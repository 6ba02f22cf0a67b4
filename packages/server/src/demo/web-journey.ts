import { createSession, HOUR_MS, sortedInstants } from './demo-clock.js';
import { consentContext } from './demo-consent.js';
import type { DemoContext, DemoTag, PendingCall } from './demo-context.js';
import { emailVariant } from './email-variant.js';
import { phoneVariant } from './phone-numbers.js';
import type { PersonPlan } from './plan-people.js';
import { browseSession, createWebDevice, pageCall, webContext, webPage } from './web-calls.js';

/**
 * The website calls of one person: anonymous visits from the first one on; for people who log in, the sign-in
 * `identify` (traits, `context.consent`), shopping sessions as the user, and the later identify of a change of
 * consent. Calls of the person reusing someone else's e-mail are tagged.
 */
export function webJourney(ctx: DemoContext, plan: PersonPlan, tag?: DemoTag): PendingCall[] {
  const { rnd, window } = ctx;
  const { person } = plan;
  const device = createWebDevice(rnd, plan.webAnonymousId, plan.locale);
  const out = browseSession(ctx, device, createSession(rnd, plan.firstVisitAt), { shopper: false });
  if (plan.identifiedAt === undefined || person.userId === undefined) {
    const visits = sortedInstants(rnd, plan.firstVisitAt + HOUR_MS, window.end, rnd.int(0, 2));
    for (const at of visits) out.push(...browseSession(ctx, device, createSession(rnd, at), { shopper: false }));
    return out;
  }
  const { userId } = person;
  const login = webPage('login', webPage('home', '').url);
  out.push({ at: plan.identifiedAt - 20_000, source: 'website', call: pageCall(device, login) });
  const traits = {
    email: rnd.chance(0.15) ? emailVariant(rnd, person.email) : person.email,
    firstName: person.firstName,
    lastName: person.lastName,
    phone: phoneVariant(rnd, person.phone, ctx.phoneRegion),
    plan: plan.plan,
    createdAt: new Date(plan.identifiedAt).toISOString(),
  };
  const context = webContext(device, login);
  if (plan.consent) context.consent = consentContext(plan.consent);
  const identify = { type: 'identify', userId, anonymousId: device.anonymousId, traits, context };
  out.push({ at: plan.identifiedAt, source: 'website', call: identify, tag });
  const shopping = [
    plan.identifiedAt + 30_000,
    ...sortedInstants(rnd, plan.identifiedAt + HOUR_MS, window.end, rnd.int(0, 4)),
  ];
  for (const at of shopping) out.push(...browseSession(ctx, device, createSession(rnd, at), { userId, shopper: true }));
  if (plan.consentChange) {
    const page = webPage('home', '');
    const changed = { ...webContext(device, page), consent: consentContext(plan.consentChange.to) };
    const call = { type: 'identify', userId, anonymousId: device.anonymousId, context: changed };
    out.push({ at: plan.consentChange.at, source: 'website', call });
  }
  return out;
}

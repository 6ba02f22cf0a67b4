import { between, createSession, DAY_MS, HOUR_MS } from './demo-clock.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import type { DemoTricky } from './demo-data.js';
import { phoneVariant } from './phone-numbers.js';
import { type PersonPlan, TRICKY_PEOPLE } from './plan-people.js';
import { storeReceipt } from './store-receipts.js';
import {
  createWebDevice,
  orderProperties,
  pageCall,
  productProperties,
  trackCall,
  webContext,
  webPage,
} from './web-calls.js';

const BLOCKED_EMAIL = 'test@test.com';
const TABLET_UA =
  'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';

/**
 * The records that trip up a naive identity engine (DESIGN §4), built around the people of `TRICKY_PEOPLE`:
 * - a family tablet: one anonymousId on which person 0 and then person 1 (same last name) log in;
 * - `test@test.com` (a blocked value) typed at the till next to real phone numbers, and in newsletter forms;
 * - person 3 signs up with person 2's e-mail (their own calls come from `webJourney`; reported here).
 * The blocked e-mail's message ids are filled in once the calls are numbered.
 */
export function trickyRecords(
  ctx: DemoContext,
  plans: readonly PersonPlan[],
): { calls: PendingCall[]; tricky: DemoTricky } {
  const { rnd, window } = ctx;
  const [owner, relative] = [plans[TRICKY_PEOPLE.tabletOwner], plans[TRICKY_PEOPLE.tabletRelative]];
  const calls: PendingCall[] = [];
  const tablet = { ...createWebDevice(rnd, rnd.faker.string.uuid(), owner.locale), userAgent: TABLET_UA };
  const start = between(rnd, Math.max(owner.identifiedAt!, relative.identifiedAt!) + HOUR_MS, window.end - 6 * DAY_MS);
  for (const [i, plan] of [owner, relative].entries()) {
    const next = createSession(rnd, start + i * rnd.int(2, 5) * DAY_MS);
    const { person } = plan;
    const home = webPage('home', '');
    const login = webPage('login', home.url);
    const traits = { email: person.email, firstName: person.firstName, lastName: person.lastName };
    const product = rnd.pick(ctx.catalog);
    const seen = webPage(product, login.url);
    const steps = [
      pageCall(tablet, home),
      pageCall(tablet, login),
      {
        type: 'identify',
        userId: person.userId,
        anonymousId: tablet.anonymousId,
        traits,
        context: webContext(tablet, login),
      },
      pageCall(tablet, seen, person.userId),
      trackCall(tablet, seen, 'Product Viewed', productProperties(product), person.userId),
      trackCall(tablet, seen, 'Order Completed', orderProperties(ctx), person.userId),
    ];
    for (const call of steps) calls.push({ at: next(), source: 'website', call, tag: 'shared-device' });
  }
  for (const [i, plan] of [relative, plans[TRICKY_PEOPLE.emailOwner]].entries()) {
    const email = i === 0 ? BLOCKED_EMAIL : ` ${BLOCKED_EMAIL.toUpperCase()} `;
    const call = storeReceipt(ctx, { email, phone: phoneVariant(rnd, plan.person.phone, ctx.phoneRegion) });
    calls.push({ at: between(rnd, window.start, window.end), source: 'store-pos', call, tag: 'blocked-email' });
  }
  for (const email of [BLOCKED_EMAIL, 'Test@Test.com']) {
    const visitor = createWebDevice(rnd, rnd.faker.string.uuid(), 'en-US');
    const page = {
      ...webPage('home', ''),
      name: 'Newsletter',
      path: '/newsletter',
      url: 'https://shop.example.com/newsletter',
    };
    const next = createSession(rnd, between(rnd, window.start, window.end));
    calls.push({ at: next(), source: 'website', call: pageCall(visitor, page) });
    const identify = {
      type: 'identify',
      anonymousId: visitor.anonymousId,
      traits: { email },
      context: webContext(visitor, page),
    };
    calls.push({ at: next(), source: 'website', call: identify, tag: 'blocked-email' });
  }
  const [emailOwner, reuser] = [plans[TRICKY_PEOPLE.emailOwner].person, plans[TRICKY_PEOPLE.emailReuser].person];
  const tricky: DemoTricky = {
    sharedDevice: { anonymousId: tablet.anonymousId, userIds: [owner.person.userId!, relative.person.userId!] },
    blockedEmail: { value: BLOCKED_EMAIL, messageIds: [] },
    reusedEmail: { email: emailOwner.email, ownerUserId: emailOwner.userId!, otherUserId: reuser.userId! },
  };
  return { calls, tricky };
}

import { createSession, DAY_MS, sortedInstants } from './demo-clock.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import type { DemoRandom } from './demo-random.js';
import type { PersonPlan } from './plan-people.js';
import { orderProperties, productProperties } from './web-calls.js';

/** A phone running the shop's app, as Segment's mobile libraries describe it in `context`. */
function createPhone(rnd: DemoRandom, locale: string): () => Record<string, unknown> {
  const ios = rnd.chance(0.55);
  const device = ios
    ? { manufacturer: 'Apple', model: rnd.pick(['iPhone14,2', 'iPhone15,3', 'iPhone16,1']), type: 'ios' }
    : {
        manufacturer: rnd.pick(['samsung', 'Google', 'Xiaomi']),
        model: rnd.pick(['SM-S918B', 'Pixel 8', '2201116SG']),
        type: 'android',
      };
  const id = ios ? rnd.faker.string.uuid().toUpperCase() : rnd.faker.string.uuid();
  const os = ios
    ? { name: 'iOS', version: rnd.pick(['17.6', '18.1', '18.3']) }
    : { name: 'Android', version: rnd.pick(['13', '14', '15']) };
  const library = ios ? { name: 'analytics-swift', version: '1.7.2' } : { name: 'analytics-kotlin', version: '1.18.1' };
  const ip = rnd.faker.internet.ipv4();
  // A fresh object per call: no two calls share a nested object.
  return () => ({
    app: { name: 'Tessera Shop', version: '4.2.1', build: '421', namespace: 'com.example.tessera.shop' },
    device: { id, ...device },
    os: { ...os },
    library: { ...library },
    locale,
    ip,
  });
}

/**
 * The shop's app on a person's phone: anonymous screens under the app's own anonymousId, then the login, which
 * joins that anonymousId to the user id — by an `identify` from the device, or, for about a third of the people,
 * by an `alias` call (`previousId` = the app's anonymousId) — then screens and events as the user.
 */
export function mobileJourney(ctx: DemoContext, plan: PersonPlan): PendingCall[] {
  const { rnd, window } = ctx;
  const { mobile, person } = plan;
  if (!mobile || person.userId === undefined) return [];
  const context = createPhone(rnd, plan.locale);
  const out: PendingCall[] = [];
  const push = (at: number, call: Record<string, unknown>) =>
    out.push({ at, source: 'mobile-app', call: { ...call, context: context() } });
  const { anonymousId } = mobile;
  const session = createSession(rnd, mobile.startAt);
  push(session(), { type: 'screen', anonymousId, name: 'Home', properties: {} });
  const product = rnd.pick(ctx.catalog);
  push(session(), { type: 'screen', anonymousId, name: 'Product', properties: { sku: product.sku } });
  push(session(), { type: 'track', anonymousId, event: 'Product Viewed', properties: productProperties(product) });
  const userId = person.userId;
  if (mobile.joinBy === 'alias') {
    push(session(), { type: 'alias', previousId: anonymousId, userId });
  } else {
    const traits = { email: person.email, firstName: person.firstName, lastName: person.lastName };
    push(session(), { type: 'identify', userId, anonymousId, traits });
  }
  for (const at of [session() + 60_000, ...sortedInstants(rnd, mobile.startAt + DAY_MS, window.end, rnd.int(0, 3))]) {
    const next = createSession(rnd, at);
    const seen = rnd.pick(ctx.catalog);
    push(next(), { type: 'screen', userId, anonymousId, name: 'Product', properties: { sku: seen.sku } });
    push(next(), { type: 'track', userId, anonymousId, event: 'Product Viewed', properties: productProperties(seen) });
    if (rnd.chance(0.35)) {
      push(next(), { type: 'track', userId, anonymousId, event: 'Order Completed', properties: orderProperties(ctx) });
    }
  }
  return out;
}

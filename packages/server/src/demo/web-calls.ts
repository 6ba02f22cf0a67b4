import { createOrder, type DemoProduct } from './demo-catalog.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import type { DemoRandom } from './demo-random.js';

const SITE = 'https://shop.example.com';
const LIBRARY = { name: 'analytics.js', version: 'next-1.74.0' };
const REFERRERS = [
  '',
  '',
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://www.instagram.com/',
  'https://news.example.org/',
];

/** A browser: its cookie (`anonymousId`), network address, user agent and language. */
export interface WebDevice {
  anonymousId: string;
  ip: string;
  userAgent: string;
  locale: string;
}

/** A page of the shop, as Segment's `page` call and `context.page` describe it. */
export interface WebPage {
  name: string;
  path: string;
  url: string;
  title: string;
  referrer: string;
}

/** Current browsers' user agents (faker's own list includes crawlers, which a real pipeline may filter out). */
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
];

/** A browser with a seeded address and user agent. */
export function createWebDevice(rnd: DemoRandom, anonymousId: string, locale: string): WebDevice {
  return { anonymousId, ip: rnd.faker.internet.ipv4(), userAgent: rnd.pick(USER_AGENTS), locale };
}

/** A page of the shop: `home`, `login`, `checkout`, or a product's page. */
export function webPage(kind: 'home' | 'login' | 'checkout' | DemoProduct, referrer: string): WebPage {
  const [name, path, title] =
    kind === 'home'
      ? ['Home', '/', 'Tessera Shop']
      : kind === 'login'
        ? ['Sign in', '/account/login', 'Sign in – Tessera Shop']
        : kind === 'checkout'
          ? ['Checkout', '/checkout', 'Checkout – Tessera Shop']
          : ['Product', `/p/${kind.sku.toLowerCase()}`, `${kind.name} – Tessera Shop`];
  return { name, path, url: `${SITE}${path}`, title, referrer };
}

/** The `context` of a browser call. */
export function webContext(device: WebDevice, page: WebPage): Record<string, unknown> {
  const { name: _name, ...contextPage } = page;
  return {
    page: contextPage,
    userAgent: device.userAgent,
    ip: device.ip,
    locale: device.locale,
    library: { ...LIBRARY },
  };
}

/** Ids of a call: the cookie always, the user id once the person has logged in on this browser. */
export function webIds(device: WebDevice, userId?: string): Record<string, unknown> {
  return userId === undefined ? { anonymousId: device.anonymousId } : { userId, anonymousId: device.anonymousId };
}

/** A `page` call. */
export function pageCall(device: WebDevice, page: WebPage, userId?: string): Record<string, unknown> {
  const { name, ...properties } = page;
  return { type: 'page', ...webIds(device, userId), name, properties, context: webContext(device, page) };
}

/** A `track` call made on `page`. */
export function trackCall(
  device: WebDevice,
  page: WebPage,
  event: string,
  properties: Record<string, unknown>,
  userId?: string,
): Record<string, unknown> {
  return { type: 'track', ...webIds(device, userId), event, properties, context: webContext(device, page) };
}

/**
 * A browsing session from `next()`'s first instant: a landing page, one to four product pages (each with
 * 'Product Viewed'), and, when `shopper`, sometimes 'Product Added' and 'Order Completed'.
 */
export function browseSession(
  ctx: DemoContext,
  device: WebDevice,
  next: () => number,
  opts: { userId?: string; shopper: boolean },
): PendingCall[] {
  const { rnd } = ctx;
  const out: PendingCall[] = [];
  const push = (call: Record<string, unknown>) => out.push({ at: next(), source: 'website', call });
  let page = webPage('home', rnd.pick(REFERRERS));
  push(pageCall(device, page, opts.userId));
  let last: DemoProduct | undefined;
  for (let i = rnd.int(1, 4); i > 0; i--) {
    last = rnd.pick(ctx.catalog);
    page = webPage(last, page.url);
    push(pageCall(device, page, opts.userId));
    push(trackCall(device, page, 'Product Viewed', productProperties(last), opts.userId));
  }
  if (!opts.shopper || !last || !rnd.chance(0.55)) return out;
  push(trackCall(device, page, 'Product Added', { ...productProperties(last), quantity: 1 }, opts.userId));
  if (!rnd.chance(0.6)) return out;
  page = webPage('checkout', page.url);
  push(pageCall(device, page, opts.userId));
  push(trackCall(device, page, 'Order Completed', orderProperties(ctx), opts.userId));
  return out;
}

/** Properties of 'Product Viewed' / 'Product Added'. */
export function productProperties(p: DemoProduct): Record<string, unknown> {
  return { sku: p.sku, name: p.name, price: p.price, category: p.category, currency: 'EUR' };
}

/** Properties of an online 'Order Completed': a new order of one to three products, in euros. */
export function orderProperties(ctx: DemoContext): Record<string, unknown> {
  const { lines, total } = createOrder(ctx.rnd, ctx.catalog);
  return { orderId: `ORD-${ctx.nextOrderNumber()}`, total, currency: 'EUR', products: lines };
}

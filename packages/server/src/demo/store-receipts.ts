import { createOrder } from './demo-catalog.js';
import { sortedInstants } from './demo-clock.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import { emailVariant } from './email-variant.js';
import { phoneVariant } from './phone-numbers.js';
import type { PersonPlan } from './plan-people.js';

const STORES = ['store-001', 'store-004', 'store-007', 'store-012', 'store-015', 'store-021', 'store-033'] as const;
const LIBRARY = { name: 'tessera-pos-connector', version: '1.3.0' };

/**
 * One till receipt: a `track` 'Order Completed' with `channel: 'store'`, no user id, a fresh anonymousId per
 * receipt (`pos-<n>`) and the customer's contact as typed by the cashier in `context.traits`.
 */
export function storeReceipt(ctx: DemoContext, traits: { email?: string; phone?: string }): Record<string, unknown> {
  const n = ctx.nextOrderNumber();
  const { lines, total } = createOrder(ctx.rnd, ctx.catalog);
  const properties = {
    orderId: `POS-${n}`,
    storeId: ctx.rnd.pick(STORES),
    total,
    currency: 'EUR',
    channel: 'store',
    products: lines,
  };
  return {
    type: 'track',
    anonymousId: `pos-${n}`,
    event: 'Order Completed',
    properties,
    context: { traits, library: { ...LIBRARY } },
  };
}

/**
 * A person's store purchases: each receipt carries either the e-mail (usually in a variant form) or the phone
 * number (national or international format). `phoneOnly` is for people whose e-mail is not theirs alone.
 */
export function storeReceipts(ctx: DemoContext, plan: PersonPlan, phoneOnly: boolean): PendingCall[] {
  const { rnd, window } = ctx;
  const { person } = plan;
  return sortedInstants(rnd, window.start, window.end, plan.storeReceipts).map((at) => {
    const byEmail = !phoneOnly && rnd.chance(0.6);
    const traits = byEmail
      ? { email: rnd.chance(0.7) ? emailVariant(rnd, person.email) : person.email }
      : { phone: phoneVariant(rnd, person.phone, ctx.phoneRegion) };
    return { at, source: 'store-pos', call: storeReceipt(ctx, traits) };
  });
}

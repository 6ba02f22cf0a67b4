import { between, DAY_MS, HOUR_MS } from './demo-clock.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import type { PersonPlan } from './plan-people.js';
import { createWebDevice, webContext, webPage } from './web-calls.js';

const INDUSTRIES = ['Retail', 'Hospitality', 'Healthcare', 'Education', 'Construction', 'Software', 'Logistics'];
const PORTAL = 'https://pro.shop.example.com';

/** A business customer of the shop's B2B portal. */
interface Account {
  groupId: string;
  traits: { name: string; industry: string; employees: number; plan: 'starter' | 'business' | 'enterprise' };
}

/**
 * The B2B portal: about 15% of the people who log in buy for a company too; each sends a `group` call tying their
 * user id to one of up to ten company accounts (`acct-001`…), with the company's traits. Group calls describe
 * the account and never merge people.
 */
export function b2bAccounts(ctx: DemoContext, plans: readonly PersonPlan[]): PendingCall[] {
  const { rnd, window } = ctx;
  const members = plans.filter((p) => p.person.userId !== undefined && rnd.chance(0.15));
  const accounts: Account[] = Array.from({ length: Math.min(10, members.length) }, (_, i) => ({
    groupId: `acct-${String(i + 1).padStart(3, '0')}`,
    traits: {
      name: rnd.faker.company.name(),
      industry: rnd.pick(INDUSTRIES),
      employees: rnd.pick([4, 12, 35, 80, 250, 1200]) + rnd.int(0, 9),
      plan: rnd.pick(['starter', 'business', 'enterprise'] as const),
    },
  }));
  return members.map((plan, i) => {
    const account = accounts[i < accounts.length ? i : rnd.int(0, accounts.length - 1)];
    const device = createWebDevice(rnd, rnd.faker.string.uuid(), plan.locale);
    const page = { ...webPage('home', ''), url: `${PORTAL}/`, title: 'Tessera Pro' };
    const at = between(rnd, plan.identifiedAt! + HOUR_MS, window.end - DAY_MS);
    const call = {
      type: 'group',
      userId: plan.person.userId,
      anonymousId: device.anonymousId,
      groupId: account.groupId,
      traits: { ...account.traits },
      context: webContext(device, page),
    };
    return { at, source: 'b2b-portal', call };
  });
}

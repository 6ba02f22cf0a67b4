import { anonymousVisitors } from './anonymous-visitors.js';
import { b2bAccounts } from './b2b-accounts.js';
import { crmExport } from './crm-export.js';
import { createCatalog } from './demo-catalog.js';
import { demoWindow } from './demo-clock.js';
import { createDemoContext, type PendingCall } from './demo-context.js';
import type { DemoCall, DemoData, DemoOptions } from './demo-data.js';
import { createDemoRandom } from './demo-random.js';
import { DEMO_SOURCES } from './demo-sources.js';
import { mobileJourney } from './mobile-journey.js';
import { planPeople, TRICKY_PEOPLE } from './plan-people.js';
import { storeReceipts } from './store-receipts.js';
import { trickyRecords } from './tricky-records.js';
import { webJourney } from './web-journey.js';

/**
 * Generates the multi-channel demo data set: website, app, tills, CRM export and B2B portal calls of `people`
 * people (plus anonymous visitors), spread over the 90 days before `now`, in chronological order, numbered
 * `demo-<seed>-<n>`. Pure and deterministic: no I/O, and the same options give a deep-equal result.
 *
 * @throws RangeError when `people` is not an integer ≥ 4, `seed` not an integer, or `now` an invalid date.
 */
export function generateDemo(opts: DemoOptions = {}): DemoData {
  const seed = opts.seed ?? 1;
  const count = opts.people ?? 200;
  const now = opts.now ?? new Date();
  if (!Number.isInteger(count) || count < 4) throw new RangeError(`people must be an integer ≥ 4, got ${count}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (Number.isNaN(now.getTime())) throw new RangeError('now must be a valid date');
  const rnd = createDemoRandom(seed, now);
  const window = demoWindow(now);
  const ctx = createDemoContext(seed, rnd, window, createCatalog(rnd), opts.phoneRegion ?? 'US');
  const plans = planPeople(rnd, count, window);
  const sharedEmail = new Set<number>([TRICKY_PEOPLE.emailOwner, TRICKY_PEOPLE.emailReuser]);
  const pending: PendingCall[] = [];
  for (const [i, plan] of plans.entries()) {
    pending.push(...webJourney(ctx, plan, i === TRICKY_PEOPLE.emailReuser ? 'reused-email' : undefined));
  }
  pending.push(...anonymousVisitors(ctx, Math.round(count / 2)));
  for (const plan of plans) pending.push(...mobileJourney(ctx, plan));
  for (const [i, plan] of plans.entries()) pending.push(...storeReceipts(ctx, plan, sharedEmail.has(i)));
  pending.push(...crmExport(ctx, plans));
  pending.push(...b2bAccounts(ctx, plans));
  const { calls: trickyCalls, tricky } = trickyRecords(ctx, plans);
  pending.push(...trickyCalls);

  // A stable sort keeps the causal order of calls made in the same millisecond.
  pending.sort((a, b) => a.at - b.at);
  const calls = pending.map((p, n): DemoCall => {
    const messageId = `demo-${seed}-${n + 1}`;
    if (p.tag === 'blocked-email') tricky.blockedEmail.messageIds.push(messageId);
    const { type, ...rest } = p.call;
    return { source: p.source, call: { type, messageId, timestamp: new Date(p.at).toISOString(), ...rest } };
  });
  return {
    sources: DEMO_SOURCES.map((s) => ({ ...s })),
    calls,
    people: plans.map((p) => ({ ...p.person })),
    tricky,
  };
}

import { createSession, sortedInstants } from './demo-clock.js';
import type { DemoContext, PendingCall } from './demo-context.js';
import { browseSession, createWebDevice } from './web-calls.js';

/**
 * Website visitors who never log in and are not in the ground truth: one or two anonymous browsing sessions each,
 * the bulk of any real site's traffic (and of its anonymous profiles).
 */
export function anonymousVisitors(ctx: DemoContext, count: number): PendingCall[] {
  const { rnd, window } = ctx;
  const out: PendingCall[] = [];
  for (let i = 0; i < count; i++) {
    const device = createWebDevice(rnd, rnd.faker.string.uuid(), rnd.pick(['fr-FR', 'en-US', 'en-GB', 'de-DE']));
    for (const at of sortedInstants(rnd, window.start, window.end, rnd.int(1, 2))) {
      out.push(...browseSession(ctx, device, createSession(rnd, at), { shopper: false }));
    }
  }
  return out;
}

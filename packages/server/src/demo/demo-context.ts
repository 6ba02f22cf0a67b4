import type { DemoProduct } from './demo-catalog.js';
import type { DemoWindow } from './demo-clock.js';
import type { DemoRandom } from './demo-random.js';
import type { DemoSourceName } from './demo-sources.js';
import type { DemoCountry } from './phone-numbers.js';

/** Marks the calls of a tricky record, so their message ids can be reported once assigned. */
export type DemoTag = 'shared-device' | 'blocked-email' | 'reused-email';

/** A call before its `messageId` and `timestamp` are set (the generator sorts calls by `at` first). */
export interface PendingCall {
  /** Epoch milliseconds. */
  at: number;
  source: DemoSourceName;
  call: Record<string, unknown>;
  tag?: DemoTag;
}

/** What every stage of the generator shares. */
export interface DemoContext {
  seed: number;
  rnd: DemoRandom;
  window: DemoWindow;
  catalog: DemoProduct[];
  phoneRegion: DemoCountry;
  /** Next order number, unique across channels. */
  nextOrderNumber(): number;
}

/** The shared context; order numbers start at a seeded value so that two seeds rarely share one. */
export function createDemoContext(
  seed: number,
  rnd: DemoRandom,
  window: DemoWindow,
  catalog: DemoProduct[],
  phoneRegion: DemoCountry,
): DemoContext {
  let order = rnd.int(100_000, 900_000);
  return { seed, rnd, window, catalog, phoneRegion, nextOrderNumber: () => order++ };
}

import type { DemoRandom } from './demo-random.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The 90 days before `now`; sessions start before `end` so that they finish before `now`. */
export interface DemoWindow {
  start: number;
  end: number;
}

/** The window the demo's timestamps are spread over. */
export function demoWindow(now: Date): DemoWindow {
  const t = now.getTime();
  return { start: t - 90 * DAY_MS, end: t - 2 * HOUR_MS };
}

/** A uniform instant in `[from, to]` (or `from` when the interval is empty). */
export function between(rnd: DemoRandom, from: number, to: number): number {
  return to <= from ? from : rnd.int(Math.ceil(from), Math.floor(to));
}

/** `count` instants in `[from, to]`, ascending. */
export function sortedInstants(rnd: DemoRandom, from: number, to: number, count: number): number[] {
  return Array.from({ length: count }, () => between(rnd, from, to)).sort((a, b) => a - b);
}

/**
 * A browsing session: returns the time of each next step, a few seconds to a couple of minutes after the previous
 * one, starting at `start`.
 */
export function createSession(rnd: DemoRandom, start: number): () => number {
  let t = start;
  let first = true;
  return () => {
    if (!first) t += rnd.int(5_000, 150_000);
    first = false;
    return t;
  };
}

import type { EventWindow, RelativeWindow } from '@tessera/protocol';
import { toDate } from './values.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Fixed unit lengths: no calendar, no time zone, so that both SQL dialects compute the same bounds. */
export const UNIT_MS: Readonly<Record<RelativeWindow['unit'], number>> = {
  hours: HOUR,
  days: DAY,
  weeks: 7 * DAY,
  months: 30 * DAY,
};

/** The length of a relative window in ms. */
export function windowLength(window: RelativeWindow): number {
  return window.last * UNIT_MS[window.unit];
}

export function isRelative(window: EventWindow): window is RelativeWindow {
  return 'last' in window;
}

/**
 * Whether an event at `timestamp` falls in `window` at `now` (all ms): no window is all time; a relative window of
 * length d holds `now − d < timestamp ≤ now`; an absolute one holds `from ≤ timestamp < to`, whatever `now` is.
 */
export function inWindow(window: EventWindow | undefined, timestamp: number, now: number): boolean {
  if (window === undefined) return true;
  if (isRelative(window)) return now - windowLength(window) < timestamp && timestamp <= now;
  const from = window.from === undefined ? undefined : toDate(window.from);
  const to = window.to === undefined ? undefined : toDate(window.to);
  return (from === undefined || from <= timestamp) && (to === undefined || timestamp < to);
}

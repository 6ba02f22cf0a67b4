import { RFM_TRAITS, type RfmSegment } from '@tessera/protocol';

/**
 * The segment of each (R, F) pair (docs/audiences.md, "RFM"): rows R = 5 down to 1, columns F = 1 to 5. The usual
 * grid: recent and frequent buyers are champions, recent first-timers new customers, frequent buyers who stopped
 * cannot be lost, the rest in between.
 */
export const RFM_GRID: readonly (readonly RfmSegment[])[] = [
  ['new_customers', 'potential_loyalists', 'potential_loyalists', 'champions', 'champions'],
  ['promising', 'potential_loyalists', 'potential_loyalists', 'champions', 'champions'],
  ['about_to_sleep', 'about_to_sleep', 'need_attention', 'loyal', 'loyal'],
  ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cannot_lose_them'],
  ['lost', 'hibernating', 'at_risk', 'at_risk', 'cannot_lose_them'],
];

/** The segment of recency score `r` and frequency score `f` (1–5). */
export function rfmSegment(r: number, f: number): RfmSegment {
  return RFM_GRID[5 - r][f - 1];
}

const KEYS = new Set<string>(RFM_TRAITS);

/** Whether `key` is one of the RFM computed traits (read from the stored scores). */
export function isRfmTrait(key: string): boolean {
  return KEYS.has(key);
}

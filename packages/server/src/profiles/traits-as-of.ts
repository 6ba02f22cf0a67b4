import type { HistoryRow } from './ports.js';

/**
 * The trait values valid at `asOf` as known at `knownAt` (DESIGN §5), from a profile's history rows. A row counts
 * when it was recorded by `knownAt` and not superseded by then; per trait, the counted row with the latest
 * `validFrom` not after `asOf` gives the value (ties: the later recorded). An interval's end is the start of the
 * next row, so `validTo` updates made after `knownAt` cannot leak into the answer.
 */
export function traitsAsOf(
  rows: readonly HistoryRow[],
  asOf: number,
  knownAt: number,
): Record<string, { value: unknown; validFrom: number; sourceId: string }> {
  const out: Record<string, { value: unknown; validFrom: number; sourceId: string }> = {};
  for (const [trait, r] of rowsAsOf(rows, asOf, knownAt))
    out[trait] = { value: r.value, validFrom: r.validFrom, sourceId: r.sourceId };
  return out;
}

/** The rows {@link traitsAsOf} reads its values from, by trait (sorted by name). */
export function rowsAsOf(rows: readonly HistoryRow[], asOf: number, knownAt: number): Map<string, HistoryRow> {
  const best = new Map<string, HistoryRow>();
  for (const r of rows) {
    if (r.recordedAt > knownAt) continue;
    if (r.supersededAt !== null && r.supersededAt <= knownAt) continue;
    if (r.validFrom > asOf) continue;
    const cur = best.get(r.trait);
    if (
      !cur ||
      r.validFrom > cur.validFrom ||
      (r.validFrom === cur.validFrom &&
        (r.recordedAt > cur.recordedAt || (r.recordedAt === cur.recordedAt && r.id > cur.id)))
    ) {
      best.set(r.trait, r);
    }
  }
  return new Map([...best].sort(([a], [b]) => (a < b ? -1 : 1)));
}

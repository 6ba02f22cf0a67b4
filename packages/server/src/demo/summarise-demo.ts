import { EVENT_TYPES } from '@tessera/protocol';
import type { DemoData } from './demo-data.js';

/** Counts of a demo data set, for the CLI's summary line and `--json`. */
export interface DemoSummary {
  people: number;
  calls: number;
  /** Calls per source, every source listed (zero included), in `DEMO_SOURCES` order. */
  bySource: Record<string, number>;
  /** Calls per type, every Segment type listed (zero included). */
  byType: Record<string, number>;
  /** Calls per source and type; only the pairs that occur. */
  bySourceAndType: Record<string, Record<string, number>>;
}

/** Counts the calls of `data` per source and per type. */
export function summariseDemo(data: DemoData): DemoSummary {
  const bySource: Record<string, number> = Object.fromEntries(data.sources.map((s) => [s.name, 0]));
  const byType: Record<string, number> = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0]));
  const bySourceAndType: Record<string, Record<string, number>> = {};
  for (const { source, call } of data.calls) {
    const type = String(call.type);
    bySource[source] = (bySource[source] ?? 0) + 1;
    byType[type] = (byType[type] ?? 0) + 1;
    const perType = bySourceAndType[source] ?? {};
    perType[type] = (perType[type] ?? 0) + 1;
    bySourceAndType[source] = perType;
  }
  return { people: data.people.length, calls: data.calls.length, bySource, byType, bySourceAndType };
}

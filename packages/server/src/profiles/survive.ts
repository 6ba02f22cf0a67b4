import type { SurvivorshipRuleName, TraitRule } from '@tessera/protocol';

/** One observation of one trait: the value an event carried. */
export interface TraitObservation {
  value: unknown;
  sourceId: string;
  eventId: string;
  /** Event time (ms). */
  at: number;
}

/**
 * Chooses the observation whose value survives (DESIGN §5, `docs/survivorship.md`), or `undefined` when there is
 * none. The order the observations come in does not matter: a late event counts as of its event time.
 *
 * - `most_recent`: the latest observation.
 * - `source_priority`: among non-null values, those of the best-ranked source (`rankOf`: lower is more trusted; a
 *   source not listed ranks after every listed one), the latest.
 * - `most_frequent`: the non-null value observed most often (values compared as JSON); on a tie, the value observed
 *   last. The observation given is that value's latest.
 * - `longest`: the longest non-empty value (see {@link lengthOf}), the latest among equally long ones.
 *
 * "Latest" means the greater event time, then the later processed (the greater event id: ids are UUIDv7). When no
 * value qualifies (only nulls, or only empty values for `longest`), the latest observation is chosen.
 */
export function survive(
  rule: TraitRule,
  observations: readonly TraitObservation[],
  rankOf: (sourceId: string) => number = () => 0,
): TraitObservation | undefined {
  if (observations.length === 0) return undefined;
  return CHOOSERS[rule.rule](observations, rankOf) ?? latest(observations);
}

type Chooser = (
  observations: readonly TraitObservation[],
  rankOf: (sourceId: string) => number,
) => TraitObservation | undefined;

const CHOOSERS: Record<SurvivorshipRuleName, Chooser> = {
  most_recent: (observations) => latest(observations),

  source_priority(observations, rankOf) {
    let best: TraitObservation | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const o of observations) {
      if (o.value === null) continue;
      const rank = rankOf(o.sourceId);
      if (rank < bestRank || (rank === bestRank && best && isLater(o, best))) {
        best = o;
        bestRank = rank;
      }
    }
    return best;
  },

  most_frequent(observations) {
    const byValue = new Map<string, { count: number; last: TraitObservation }>();
    for (const o of observations) {
      if (o.value === null) continue;
      const key = canonicalJson(o.value);
      const entry = byValue.get(key);
      if (!entry) byValue.set(key, { count: 1, last: o });
      else {
        entry.count++;
        if (isLater(o, entry.last)) entry.last = o;
      }
    }
    let best: { count: number; last: TraitObservation } | undefined;
    for (const entry of byValue.values())
      if (!best || entry.count > best.count || (entry.count === best.count && isLater(entry.last, best.last)))
        best = entry;
    return best?.last;
  },

  longest(observations) {
    let best: TraitObservation | undefined;
    let bestLength = 0;
    for (const o of observations) {
      const length = lengthOf(o.value);
      if (length === 0) continue;
      if (length > bestLength || (length === bestLength && best && isLater(o, best))) {
        best = o;
        bestLength = length;
      }
    }
    return best;
  },
};

/** Whether `a` is more recent than `b`: a greater event time, then a greater (later made) event id. */
export function isLater(a: TraitObservation, b: TraitObservation): boolean {
  return a.at > b.at || (a.at === b.at && a.eventId > b.eventId);
}

function latest(observations: readonly TraitObservation[]): TraitObservation {
  let best = observations[0];
  for (const o of observations) if (isLater(o, best)) best = o;
  return best;
}

/**
 * The length `longest` compares; 0 means empty. A string: its characters (code points) once trimmed; null, an empty
 * array or object: 0; any other value: the length of its JSON text.
 */
export function lengthOf(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') {
    let n = 0;
    for (const _ of value.trim()) n++;
    return n;
  }
  if (Array.isArray(value)) return value.length === 0 ? 0 : JSON.stringify(value).length;
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 0 : canonicalJson(value).length;
  return JSON.stringify(value)?.length ?? 0;
}

/** JSON text with object keys sorted, so equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

import { fromPublicId, type SurvivorshipRuleName, type TraitRule } from '@tessera/protocol';
import { groupBy } from '../group-by.js';
import type { ProcessedMessageStore } from '../ingest/ports.js';
import type { SourceStore } from '../sources/ports.js';
import type { EventStore, HistoryRow, TraitObservationRow } from './ports.js';
import { survive, type TraitObservation } from './survive.js';
import { type LoadedSurvivorship, ruleFor } from './survivorship-rules.js';

/** The observation behind a golden value. */
export interface TraitProvenance {
  rule: SurvivorshipRuleName;
  settingsVersion: number;
  sourceId: string;
  eventId: string | null;
  /** Event time (ms) of the observation; for `most_recent`, the start of the value's history interval. */
  observedAt: number;
}

export interface GoldenRecord {
  traits: Record<string, unknown>;
  /** Per trait, where its value came from; absent for a value with no recorded observation. */
  sources: Record<string, TraitProvenance>;
}

export interface GoldenRecordDeps {
  events: Pick<EventStore, 'traitObservations'>;
  processed: Pick<ProcessedMessageStore, 'processedAt'>;
  sources: Pick<SourceStore, 'list'>;
}

/**
 * The golden record of a profile family (DESIGN §5, `docs/survivorship.md`), computed when read: survivorship is a
 * function of the observations and of the rules in force, so a new version of the rules applies to every read at
 * once, and merges, late events and unmerges need no recomputation.
 *
 * - A trait whose rule is `most_recent` keeps the value the pipeline maintains (`current`: the profile row, or the
 *   history at `asOf`), with the history row holding it as its origin. Nothing else is read: with the default rules
 *   a read costs what it did before survivorship existed.
 * - The other rules choose among the observations of the whole family (the `events` of every profile in it), up to
 *   `asOf` (event time) and, with `knownAt`, among the events processed by then.
 *
 * @param current the most recent value of each trait, with the history row holding it when there is one.
 * @param family every profile id of the family (at the times asked).
 */
export async function goldenRecord(
  deps: GoldenRecordDeps,
  input: {
    current: ReadonlyMap<string, { value: unknown; origin?: HistoryRow }>;
    family: readonly string[];
    survivorship: LoadedSurvivorship;
    asOf?: number;
    knownAt?: number;
  },
): Promise<GoldenRecord> {
  const { current, survivorship } = input;
  const out: GoldenRecord = { traits: {}, sources: {} };
  const keepCurrent = (trait: string) => {
    const c = current.get(trait);
    if (!c) return;
    out.traits[trait] = c.value;
    if (c.origin)
      out.sources[trait] = {
        rule: 'most_recent',
        settingsVersion: survivorship.version,
        sourceId: c.origin.sourceId,
        eventId: c.origin.eventId,
        observedAt: c.origin.validFrom,
      };
  };
  if (!survivorship.observations) {
    for (const trait of current.keys()) keepCurrent(trait);
    return out;
  }
  const observed = byTrait(await observationsOf(deps, input.family, input.asOf, input.knownAt));
  const rankOf = await rankers(deps, survivorship);
  for (const trait of new Set([...current.keys(), ...observed.keys()])) {
    const rule = ruleFor(survivorship.rules, trait);
    const chosen = rule.rule === 'most_recent' ? undefined : survive(rule, observed.get(trait) ?? [], rankOf(rule));
    if (!chosen) {
      // `most_recent`, or a trait no stored event observed (the value the pipeline keeps is all there is).
      keepCurrent(trait);
      continue;
    }
    out.traits[trait] = chosen.value;
    out.sources[trait] = {
      rule: rule.rule,
      settingsVersion: survivorship.version,
      sourceId: chosen.sourceId,
      eventId: chosen.eventId,
      observedAt: chosen.at,
    };
  }
  return out;
}

/** The family's observations up to `asOf`, keeping with `knownAt` only the events processed by then. */
async function observationsOf(
  deps: GoldenRecordDeps,
  family: readonly string[],
  asOf: number | undefined,
  knownAt: number | undefined,
): Promise<TraitObservationRow[]> {
  const rows = await deps.events.traitObservations(family, { until: asOf });
  if (knownAt === undefined) return rows;
  const processed = new Map<string, number>();
  for (const [sourceId, group] of groupBy(rows, (r) => r.sourceId)) {
    const ids = group.map((r) => r.messageId);
    for (const [messageId, at] of await deps.processed.processedAt(sourceId, ids))
      processed.set(`${sourceId}\u0000${messageId}`, at);
  }
  return rows.filter((r) => (processed.get(`${r.sourceId}\u0000${r.messageId}`) ?? Infinity) <= knownAt);
}

function byTrait(rows: readonly TraitObservationRow[]): Map<string, TraitObservation[]> {
  const out = new Map<string, TraitObservation[]>();
  for (const r of rows) {
    for (const [trait, value] of Object.entries(r.traits)) {
      if (value === undefined) continue;
      const o = { value, sourceId: r.sourceId, eventId: r.eventId, at: r.timestamp };
      const list = out.get(trait);
      if (list) list.push(o);
      else out.set(trait, [o]);
    }
  }
  return out;
}

/**
 * The rank of a source under a rule: its place in a `source_priority` list (names or `src_…` ids, resolved against
 * the sources); every other source, and every source under other rules, ranks after.
 */
async function rankers(
  deps: GoldenRecordDeps,
  survivorship: LoadedSurvivorship,
): Promise<(rule: TraitRule) => (sourceId: string) => number> {
  const { rules } = survivorship;
  const lists = [rules.default, ...Object.values(rules.traits)].filter((r) => r.rule === 'source_priority');
  if (lists.length === 0) return () => () => 0;
  const byName = new Map((await deps.sources.list()).map((s) => [s.name, s.id]));
  const cache = new Map<TraitRule, (sourceId: string) => number>();
  return (rule) => {
    if (rule.rule !== 'source_priority') return () => 0;
    let rank = cache.get(rule);
    if (!rank) {
      const ranks = new Map<string, number>();
      for (const [i, s] of rule.sources.entries()) {
        const id = fromPublicId('source', s) ?? byName.get(s);
        if (id !== undefined && !ranks.has(id)) ranks.set(id, i);
      }
      rank = (sourceId) => ranks.get(sourceId) ?? rule.sources.length;
      cache.set(rule, rank);
    }
    return rank;
  };
}

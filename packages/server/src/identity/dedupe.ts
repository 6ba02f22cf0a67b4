import { type MatchConfig, type MatchEvidence, toPublicId } from '@tessera/protocol';
import type { ScannedProfile } from '../profiles/ports.js';
import type { Storage } from '../storage/storage.js';
import type { GoldenRecords } from './golden-records.js';
import { loadMatchDecisions } from './match-decisions.js';
import { explainer, type MatchPhase, type MatchRecord, type MatchResult, matchOffThread } from './matching/index.js';
import { mergeProfiles } from './merge-profiles.js';
import { openMatchReview } from './review-queue.js';
import { loadIdentityRules, ruleOf } from './rules.js';

/** The versioned setting holding the store's match configuration (absent: `auto`). */
export const MATCHING_SETTINGS_KEY = 'identity.matching';

/** Identifier types that say nothing about who a person is (a browser cookie, a shared device). */
const NOT_COMPARED = new Set(['anonymous_id', 'device_id']);

export interface DedupeOptions {
  /** Only profiles with an identifier first linked by this source (bare id) take part. */
  sourceId?: string;
  /** Match and report; merge nothing, queue nothing. */
  dryRun?: boolean;
  /** Overrides the stored configuration. */
  config?: MatchConfig | 'auto';
  now?: number;
  onProgress?: (phase: MatchPhase | 'loading' | 'applying', done: number, total: number) => void;
}

export interface DedupeSummary {
  profiles: number;
  candidatePairs: number;
  /** Groups of two or more profiles the matcher would join. */
  clusters: number;
  /** Profiles merged away (into a survivor). */
  merged: number;
  /** Groups a merge limit refused (their pairs went to review). */
  refused: number;
  /** Review items opened (pairs already open or rejected before are not queued again). */
  queued: number;
  dryRun: boolean;
  configVersion: number;
  settingsVersion: number;
  /** Milliseconds: loading the profiles, matching + clustering, applying merges and review items. */
  timings: { loading: number; matching: number; applying: number };
  /** A few of the groups, for a person to check (public ids). */
  sample: { profileIds: string[]; probability: number }[];
}

/**
 * `tessera identity dedupe`: the probabilistic matcher over the profiles in the store (DESIGN §4). Each survivor is a
 * record of its traits (nested ones flattened to `a.b`) and its family's identifiers (one column per type; link-only
 * and anonymous types left out). Pairs people rejected, and pairs that would join two values of a type limited to
 * one per profile, are never merged; pairs they accepted are. Each group from the auto-merge threshold is merged
 * under the identity limits (`mergeProfiles`, rule `probabilistic`, the pairs' evidence recorded); a group the limits
 * refuse, and every pair between the thresholds, becomes a `probabilistic_match` review item.
 */
export async function dedupeProfiles(
  deps: { storage: Storage; golden: GoldenRecords },
  opts: DedupeOptions = {},
): Promise<DedupeSummary> {
  const { storage } = deps;
  const now = opts.now ?? Date.now();
  const { rules, version: settingsVersion } = await loadIdentityRules(storage.settings);
  const stored = await storage.settings.latest(MATCHING_SETTINGS_KEY);
  const config = opts.config ?? (stored?.value as MatchConfig | undefined) ?? 'auto';
  const configVersion = opts.config ? -1 : (stored?.version ?? 0);

  let t = performance.now();
  const profiles: ScannedProfile[] = [];
  const total = await storage.profiles.count();
  for (let after: string | undefined; ; ) {
    const page = await storage.profiles.scan({ limit: 20_000, after, sourceId: opts.sourceId });
    profiles.push(...page);
    opts.onProgress?.('loading', profiles.length, total);
    if (page.length < 20_000) break;
    after = page[page.length - 1].id;
  }
  opts.onProgress?.('loading', profiles.length, profiles.length);
  const records = profiles.map((p) => toRecord(p));
  const timings = { loading: performance.now() - t, matching: 0, applying: 0 };
  t = performance.now();

  const index = new Map(profiles.map((p, i) => [p.id, i]));
  const decisions = await loadMatchDecisions(storage.identities);
  const rejected: [number, number][] = [];
  const mustLink: [number, number][] = [];
  for (const d of decisions) {
    const a = index.get(d.a);
    const b = index.get(d.b);
    if (a === undefined || b === undefined) continue;
    if (d.decision === 'rejected') rejected.push([a, b]);
    else mustLink.push([a, b]);
  }
  // Types limited to one value per profile (`user_id` by default): two profiles holding different ones are two people.
  const exclusive = [...new Set(profiles.flatMap((p) => p.identities.map((i) => i.type)))]
    .filter((type) => ruleOf(rules, type).limit === 1 && ruleOf(rules, type).merge)
    .map((type) => ({ type, values: profiles.map((p) => p.identities.find((i) => i.type === type)?.value) }));

  // On a worker thread (from compiled JS): a server running this keeps serving meanwhile.
  const result: MatchResult | undefined =
    records.length < 2
      ? undefined
      : await matchOffThread(records, config, {
          constraints: { rejected, exclusive },
          mustLink,
          // A group larger than one merge may join would be refused whole: it never forms.
          maxClusterSize: rules.maxProfilesPerMerge,
          onProgress: (phase, done, n) => opts.onProgress?.(phase, done, n),
        });
  timings.matching = performance.now() - t;
  t = performance.now();

  const summary: DedupeSummary = {
    profiles: profiles.length,
    candidatePairs: result?.stats.candidatePairs ?? 0,
    clusters: 0,
    merged: 0,
    refused: 0,
    queued: 0,
    dryRun: opts.dryRun === true,
    configVersion,
    settingsVersion,
    timings,
    sample: [],
  };
  if (!result) return summary;

  const explain = explainer(result.model, records);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < records.length; i++) {
    const c = result.cluster[i];
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  }
  const links = new Map<number, MatchResult['merged']>();
  for (const p of result.merged) {
    const c = result.cluster[p.a];
    const l = links.get(c);
    if (l) l.push(p);
    else links.set(c, [p]);
  }
  const multi = [...groups].filter(([, members]) => members.length > 1);
  summary.clusters = multi.length;
  summary.sample = multi.slice(0, 5).map(([c, members]) => ({
    profileIds: members.map((i) => toPublicId('profile', profiles[i].id)),
    probability: Math.min(...(links.get(c) ?? []).map((p) => p.probability)),
  }));

  const review = result.review.filter((p) => p.reason !== 'rejected_before');
  if (opts.dryRun) {
    summary.merged = multi.reduce((n, [, m]) => n + m.length - 1, 0);
    summary.queued = review.length;
    timings.applying = performance.now() - t;
    return summary;
  }

  const evidenceOf = (a: number, b: number): MatchEvidence => explain(a, b);
  const toReview: { a: number; b: number; reason: string; match: MatchEvidence }[] = [];
  let done = 0;
  for (const [c, members] of multi) {
    const pairs = links.get(c) ?? [];
    const r = await mergeProfiles(deps, {
      profileIds: members.map((i) => profiles[i].id),
      rule: 'probabilistic',
      evidence: {
        configVersion,
        links: pairs.map((p) => ({
          left: toPublicId('profile', profiles[p.a].id),
          right: toPublicId('profile', profiles[p.b].id),
          match: evidenceOf(p.a, p.b),
        })),
      },
      now,
      validAt: now,
      settingsVersion,
      rules,
    });
    if (r.ok) summary.merged += r.merged.length;
    else {
      summary.refused++;
      for (const p of pairs) toReview.push({ a: p.a, b: p.b, reason: r.reason, match: evidenceOf(p.a, p.b) });
    }
    opts.onProgress?.('applying', ++done, multi.length);
  }
  for (const p of review) toReview.push({ a: p.a, b: p.b, reason: p.reason, match: evidenceOf(p.a, p.b) });

  // A pair already waiting in the queue is not queued twice (`openMatchReview`).
  const survivors = await storage.identities.resolve(toReview.flatMap((p) => [profiles[p.a].id, profiles[p.b].id]));
  for (const p of toReview) {
    const leftId = survivors.get(profiles[p.a].id) ?? profiles[p.a].id;
    const rightId = survivors.get(profiles[p.b].id) ?? profiles[p.b].id;
    if (leftId === rightId) continue;
    if (await openMatchReview(storage.identities, { leftId, rightId, match: p.match, reason: p.reason, now }))
      summary.queued++;
  }
  timings.applying = performance.now() - t;
  return summary;
}

/** A profile as a match record: flattened traits, then one column per identifier type (which wins over a trait). */
export function toRecord(p: ScannedProfile): MatchRecord {
  const record: Record<string, string> = {};
  flatten(p.traits, '', record, 0);
  const seen = new Set<string>();
  for (const i of p.identities) {
    if (NOT_COMPARED.has(i.type) || seen.has(i.type)) continue;
    seen.add(i.type);
    record[i.type] = i.value;
  }
  return record;
}

function flatten(value: Record<string, unknown>, prefix: string, out: Record<string, string>, depth: number): void {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix + k;
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') out[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else if (typeof v === 'object' && !Array.isArray(v) && depth < 3)
      flatten(v as Record<string, unknown>, `${key}.`, out, depth + 1);
  }
}

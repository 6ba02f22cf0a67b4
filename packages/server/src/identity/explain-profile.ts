import { type ExplainEdge, type ExplainView, type MatchEvidence, toPublicId } from '@tessera/protocol';
import type { Stores } from '../storage/storage.js';
import { toDecisionView, toUnmergeView } from './identity-views.js';
import { undoneBy } from './merge-graph.js';
import type { MergeRow } from './ports.js';
import { asMatchEvidence } from './review-queue.js';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The evidence graph of a survivor (`GET /v1/profiles/{id}/explain`): its family's ids as nodes with their
 * identifiers; every merge touching them as an edge with its rule and evidence (the linking identifiers of a
 * deterministic merge, the `MatchEvidence` of a probabilistic one) and the unmerge that undid it, if any; the
 * profiles split out by those unmerges as nodes outside the family; the family's identity decisions.
 */
export async function explainProfile(stores: Stores, survivorId: string): Promise<ExplainView> {
  const family = await stores.identities.family(survivorId);
  const merges = await stores.identities.merges(family);
  const unmerges = await stores.identities.unmerges(family);
  const undone = undoneBy(unmerges);
  const inFamily = new Set(family);
  const ids = [...new Set([...family, ...merges.flatMap((m) => [m.survivorId, m.mergedId])])];
  const survivors = await stores.identities.resolve(ids);
  const created = new Map((await stores.profiles.get(ids)).map((p) => [p.id, p.createdAt]));
  const identifiers = await stores.identities.ofProfiles(ids);
  const nodes = ids.map((id) => ({
    id: toPublicId('profile', id),
    survivorId: toPublicId('profile', survivors.get(id) ?? id),
    inFamily: inFamily.has(id),
    createdAt: iso(created.get(id) ?? 0),
    identifiers: identifiers
      .filter((i) => i.profileId === id)
      .map((i) => ({
        type: i.type,
        value: i.value,
        sourceId: toPublicId('source', i.sourceId),
        firstSeenAt: iso(i.firstSeenAt),
      })),
  }));
  const edges = merges.map((m): ExplainEdge => {
    const u = undone.get(m.id);
    return {
      id: toPublicId('merge', m.id),
      from: toPublicId('profile', m.mergedId),
      to: toPublicId('profile', m.survivorId),
      rule: m.rule,
      mergedAt: iso(m.mergedAt),
      validAt: iso(m.validAt),
      eventId: m.eventId ? toPublicId('event', m.eventId) : null,
      settingsVersion: m.settingsVersion,
      linkedBy: linkedBy(m),
      match: matchOf(m),
      evidence: m.evidence,
      unmerged: u
        ? { id: toPublicId('unmerge', u.id), unmergedAt: iso(u.unmergedAt), decidedBy: u.decidedBy, reason: u.reason }
        : null,
    };
  });
  return {
    profileId: toPublicId('profile', survivorId),
    nodes,
    edges,
    unmerges: unmerges.map(toUnmergeView),
    decisions: (await stores.identities.decisions(family)).map(toDecisionView),
  };
}

/** The identifiers that linked the profiles of a deterministic merge (its evidence's `linkedBy`). */
function linkedBy(m: MergeRow): ExplainEdge['linkedBy'] {
  const list = (m.evidence as { linkedBy?: unknown } | null)?.linkedBy;
  if (!Array.isArray(list)) return null;
  return list.filter(
    (l): l is { type: string; value: string; profileId: string } =>
      typeof l?.type === 'string' && typeof l.value === 'string' && typeof l.profileId === 'string',
  );
}

/** The match evidence of a probabilistic merge (its evidence's `match`), with the weight of each field. */
function matchOf(m: MergeRow): MatchEvidence | null {
  return asMatchEvidence((m.evidence as { match?: unknown } | null)?.match);
}

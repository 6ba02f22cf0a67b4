import { type DecisionView, type MergeView, toPublicId, type UnmergeView } from '@tessera/protocol';
import type { DecisionRow, MergeRow, UnmergeRow } from './ports.js';

/** API views of the identity records (public ids, ISO times), shared by `/merges` and `/explain`. */

const iso = (ms: number) => new Date(ms).toISOString();

export function toMergeView(m: MergeRow, undoneBy?: UnmergeRow): MergeView {
  return {
    id: toPublicId('merge', m.id),
    survivorId: toPublicId('profile', m.survivorId),
    mergedId: toPublicId('profile', m.mergedId),
    mergedAt: iso(m.mergedAt),
    validAt: iso(m.validAt),
    rule: m.rule,
    evidence: m.evidence,
    settingsVersion: m.settingsVersion,
    unmergedAt: undoneBy ? iso(undoneBy.unmergedAt) : null,
  };
}

export function toUnmergeView(u: UnmergeRow): UnmergeView {
  return {
    id: toPublicId('unmerge', u.id),
    profileId: toPublicId('profile', u.profileId),
    survivorId: toPublicId('profile', u.survivorId),
    mergeId: toPublicId('merge', u.mergeId),
    unmergedAt: iso(u.unmergedAt),
    decidedBy: u.decidedBy,
    reason: u.reason,
    settingsVersion: u.settingsVersion,
  };
}

export function toDecisionView(d: DecisionRow): DecisionView {
  return {
    id: toPublicId('decision', d.id),
    kind: d.kind,
    identifier: d.identifierType ? { type: d.identifierType, value: d.identifierValue } : null,
    reason: d.reason,
    evidence: d.evidence,
    eventId: d.eventId ? toPublicId('event', d.eventId) : null,
    settingsVersion: d.settingsVersion,
    createdAt: iso(d.createdAt),
  };
}

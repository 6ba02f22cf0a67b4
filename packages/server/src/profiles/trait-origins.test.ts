import { describe, expect, it } from 'vitest';
import type { MergeRow } from '../identity/ports.js';
import type { HistoryRow } from './ports.js';
import { traitOrigins } from './trait-origins.js';

/** The source shown for a `most_recent` value: a value copied by a merge is followed to where it was observed. */

const row = (profileId: string, trait: string, value: unknown, eventId: string, sourceId: string): HistoryRow => ({
  id: `${profileId}-${trait}-${eventId}`,
  profileId,
  trait,
  value,
  validFrom: 0,
  validTo: null,
  recordedAt: 0,
  supersededAt: null,
  sourceId,
  eventId,
});
const merge = (survivorId: string, mergedId: string, eventId: string): MergeRow => ({
  id: `m-${eventId}`,
  survivorId,
  mergedId,
  mergedAt: 0,
  validAt: 0,
  rule: 'deterministic',
  evidence: {},
  eventId,
  settingsVersion: 0,
});
const table = (rows: HistoryRow[]) => (profileId: string) =>
  new Map(rows.filter((r) => r.profileId === profileId).map((r) => [r.trait, r]));
const origin = (rows: HistoryRow[], merges: MergeRow[], trait: string) =>
  traitOrigins('C', table(rows), merges).get(trait)?.id;

describe('traitOrigins', () => {
  // A was merged into B by event e1, then B into C by e2; each copy carries the merging event.
  const merges = [merge('B', 'A', 'e1'), merge('C', 'B', 'e2')];

  it.each<[string, HistoryRow[], string | undefined]>([
    ['an own observation is its own origin', [row('C', 'plan', 'pro', 'o1', 'crm')], 'C-plan-o1'],
    [
      'a value copied by a merge: the merged profile’s row',
      [row('C', 'plan', 'pro', 'e2', 'web'), row('B', 'plan', 'pro', 'o2', 'crm')],
      'B-plan-o2',
    ],
    [
      'through a chain of merges, to the first profile that observed it',
      [
        row('C', 'plan', 'pro', 'e2', 'web'),
        row('B', 'plan', 'pro', 'e1', 'web'),
        row('A', 'plan', 'pro', 'o3', 'pos'),
      ],
      'A-plan-o3',
    ],
    [
      'the merging event’s own value (the merged profile held another): the merging event',
      [row('C', 'plan', 'gold', 'e2', 'web'), row('B', 'plan', 'pro', 'o2', 'crm')],
      'C-plan-e2',
    ],
    [
      'an event that is not a merge of this survivor is not followed',
      [row('C', 'plan', 'pro', 'e1', 'web'), row('A', 'plan', 'pro', 'o3', 'pos')],
      'C-plan-e1',
    ],
    ['a trait nobody holds: nothing', [], undefined],
  ])('%s', (_, rows, expected) => {
    expect(origin(rows, merges, 'plan')).toBe(expected);
  });

  it('stops on a corrupt cycle of merges', () => {
    const cycle = [merge('C', 'D', 'e3'), merge('D', 'C', 'e3')];
    const rows = [row('C', 'plan', 'pro', 'e3', 'web'), row('D', 'plan', 'pro', 'e3', 'crm')];
    expect(['C-plan-e3', 'D-plan-e3']).toContain(origin(rows, cycle, 'plan'));
  });
});

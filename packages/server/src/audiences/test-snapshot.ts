import type { ProfileSnapshot, SnapshotEvent } from './profile-snapshot.js';

/** Test helper: a snapshot with nothing but what is given. */
export function snapshot(parts: Partial<Omit<ProfileSnapshot, 'audiences'>> & { audiences?: string[] } = {}) {
  const { audiences, ...rest } = parts;
  return {
    traits: {},
    computedTraits: {},
    events: [],
    consents: {},
    accounts: [],
    ...rest,
    audiences: new Set(audiences ?? []),
  } satisfies ProfileSnapshot;
}

/** Test helper: an event. */
export function ev(name: string, timestamp: number, properties: Record<string, unknown> | null = {}): SnapshotEvent {
  return { name, timestamp, properties };
}

export const NOW = Date.parse('2024-06-01T12:00:00Z');
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** One event of a profile as the evaluator sees it: a `track` event's name, time and properties. */
export interface SnapshotEvent {
  /** The event's id: orders events of the same time (computed traits `first` / `last`). */
  id?: string;
  name: string;
  /** Event time, ms since the epoch (the event's `timestamp`, not its `receivedAt`). */
  timestamp: number;
  properties: Readonly<Record<string, unknown>> | null;
}

/**
 * Everything an audience definition can look at for one profile, loaded by the caller (the pipeline for the
 * profiles an event touched, the scheduler for a re-check). The evaluator reads nothing else and never the clock.
 */
export interface ProfileSnapshot {
  /** The golden record's current traits. */
  traits: Readonly<Record<string, unknown>>;
  /** Current computed trait values by key. */
  computedTraits: Readonly<Record<string, unknown>>;
  /** The profile's events: those the definition's event conditions name are enough, in any order. */
  events: readonly SnapshotEvent[];
  /** Current consent per purpose: `true` granted, `false` denied; a purpose never recorded is absent. */
  consents: Readonly<Record<string, boolean>>;
  /** The accounts linked to the profile. */
  accounts: readonly { traits: Readonly<Record<string, unknown>> }[];
  /** Keys of the audiences the profile is currently a member of. */
  audiences: ReadonlySet<string>;
}

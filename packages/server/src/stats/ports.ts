/** Aggregates for the web app's overview (`GET /v1/stats/overview`). */
export interface OverviewStats {
  /** Stored events per UTC day (epoch day number) and source, over the window. */
  eventsPerDay: { day: number; sourceId: string; events: number }[];
  profiles: number;
  /** Profiles holding at least one identifier other than an anonymous id. */
  identified: number;
  /** Merges recorded (an unmerge leaves its merge on record). */
  merges: number;
  /** The most frequent `track` events over the window. */
  topEvents: { name: string; events: number }[];
  /** Per purpose, the profiles whose current decision grants or denies it. */
  consents: { purpose: string; granted: number; denied: number }[];
}

export interface StatsStore {
  overview(opts: { since: number; now: number; topEvents: number }): Promise<OverviewStats>;
}

import type { Stores } from '../storage/storage.js';

/**
 * The profile side of a merge or an unmerge made outside the pipeline (`mergeProfiles`, `unmergeProfiles`),
 * implemented by the profile module and wired by the composition root (the identity module never imports it).
 */
export interface GoldenRecords {
  /**
   * Rebuilds the golden record of `profileId` from the trait observations of its family `members` (id → the valid
   * time from which the id's observations count for the profile: `-Infinity` for its own), for the traits observed
   * by the events of `affectedIds` (the ids that joined or left). Its trait history is corrected from valid time
   * `from` on, as recorded at `now` (earlier rows are kept; changed ones are superseded, never deleted). Returns the
   * traits whose current value changed.
   */
  rederive(
    tx: Stores,
    input: {
      profileId: string;
      members: ReadonlyMap<string, number>;
      affectedIds: readonly string[];
      from: number;
      now: number;
    },
  ): Promise<string[]>;
}

/** Runs of scheduled jobs (`job_runs`). */
export interface JobStore {
  /**
   * Claims a run of job `name` for node `by` at `now`: true when no run was recorded within the last `everyMs`, in
   * which case the run is recorded. Inside a transaction; where the store has several writers it first takes the
   * job's advisory lock (or gives up at once: another node is claiming it).
   */
  claim(name: string, now: number, everyMs: number, by: string): Promise<boolean>;
  /**
   * A run that failed: moves its recorded time back to `to` (the claim then succeeds again at `to + everyMs`), if the
   * run recorded is still `by`'s at `claimedAt` (another node's later claim is left alone).
   */
  backdate(name: string, claimedAt: number, by: string, to: number): Promise<void>;
  lastRun(name: string): Promise<{ at: number; by: string } | undefined>;
}

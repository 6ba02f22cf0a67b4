import type { SqlDialect } from '../dialect.js';

/**
 * When each scheduled job last ran, and on which node (`scheduler/scheduler.ts`): a scheduler claims a run under an
 * advisory lock and only when the job's period has passed since `last_run_at`, so two schedulers never run a job
 * twice.
 */
export function jobRunsSchema(d: SqlDialect): string[] {
  return [`create table job_runs (name text primary key, last_run_at ${d.timeType} not null, run_by text not null)`];
}

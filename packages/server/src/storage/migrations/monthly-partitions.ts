/**
 * PostgreSQL monthly range partitions for `ingest_log` (by `received_at`) and `events` (by `timestamp`), both epoch
 * milliseconds. A default partition catches anything outside the created months (late or far-future events), so an
 * insert never fails for want of a partition.
 */
export function monthlyPartitionStatements(now: Date, monthsBack: number, monthsAhead: number): string[] {
  const out: string[] = [];
  for (const table of ['ingest_log', 'events']) {
    out.push(`create table if not exists ${table}_default partition of ${table} default`);
  }
  for (let i = -monthsBack; i <= monthsAhead; i++) {
    const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1);
    const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i + 1, 1);
    const d = new Date(from);
    const suffix = `${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    for (const table of ['ingest_log', 'events']) {
      out.push(
        `create table if not exists ${table}_${suffix} partition of ${table} for values from (${from}) to (${to})`,
      );
    }
  }
  return out;
}

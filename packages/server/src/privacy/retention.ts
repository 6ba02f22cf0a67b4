import { fromPublicId, type RetentionPolicies } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { Storage } from '../storage/storage.js';

/** The versioned setting of the retention policies (DESIGN §8). */
export const RETENTION_KEY = 'retention';

export async function loadRetention(storage: Pick<Storage, 'settings'>) {
  const row = await storage.settings.latest(RETENTION_KEY);
  return { rules: (row?.value as RetentionPolicies | undefined)?.rules ?? [], version: row?.version ?? 0 };
}

/** Saves new policies (each source named must exist); answers them with their version. */
export async function saveRetention(storage: Storage, value: RetentionPolicies, by: string, now: number) {
  for (const [i, rule] of value.rules.entries()) {
    if (!rule.source) continue;
    const id = fromPublicId('source', rule.source);
    if (!id || !(await storage.sources.get(id)))
      throw new TesseraError('invalid_request', `rules.${i}.source: no source ${rule.source}`);
  }
  await storage.transaction((tx) => tx.settings.put(RETENTION_KEY, value, by, now), { write: true });
  return loadRetention(storage);
}

/**
 * The scheduler's `retention` job: for each rule, the events of its source / type / name older than its days, with
 * their raw ingest-log entries, deleted 5,000 per transaction. Profiles, their traits and history stay (they are
 * what the events made, and their own erasure is a data-subject request). Answers the events deleted per rule.
 */
export async function runRetention(storage: Storage, now: number): Promise<number[]> {
  const { rules } = await loadRetention(storage);
  const out: number[] = [];
  for (const rule of rules) {
    const scope = {
      sourceId: rule.source ? fromPublicId('source', rule.source) : undefined,
      type: rule.type,
      name: rule.name,
    };
    let total = 0;
    for (;;) {
      const n = await storage.transaction((tx) => tx.retention.purgeEvents(scope, now - rule.days * 86_400_000, 5000), {
        write: true,
      });
      total += n;
      if (n < 5000) break;
    }
    out.push(total);
  }
  return out;
}

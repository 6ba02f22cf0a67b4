import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MatchConfig } from '@tessera/protocol';
import pino from 'pino';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { peakRssMb } from './child.js';
import { PEOPLE_MATCH_CONFIG } from './people-match-config.js';
import { generateSyntheticPeople, PERSON_COLUMNS, type PersonColumn } from './synthetic-people.js';

/**
 * The store side of the dedupe benchmark: `node dedupe-store-child.js N SEED`. Loads the N synthetic people into a
 * fresh embedded data directory as `identify` calls through the pipeline (one anonymous id per record, the columns as
 * traits, none of them an identifier: every merge is left to the matcher), then runs
 * `dedupeProfiles` (the matcher over the store, then the merges and review items) and prints one JSON line:
 * `DedupeStoreReport`.
 */
export interface DedupeStoreReport {
  records: number;
  loadSeconds: number;
  profiles: number;
  candidatePairs: number;
  merged: number;
  refused: number;
  queued: number;
  /** Seconds reading the profiles, matching + clustering, applying the merges and review items. */
  scanSeconds: number;
  matchSeconds: number;
  applySeconds: number;
  peakMb: number;
}

/**
 * Trait names: the e-mail and phone columns are stored under names the pipeline does not take for identifiers, so
 * that no duplicate merges while loading and every merge is the matcher's (the figure is the merges' cost).
 */
const TRAIT: Record<PersonColumn, string> = {
  ...(Object.fromEntries(PERSON_COLUMNS.map((c) => [c, c])) as Record<PersonColumn, string>),
  email: 'contact_email',
  phone: 'contact_phone',
};

/** The people configuration with its fields named like the traits. */
function renamed(config: MatchConfig): MatchConfig {
  const name = (f: string) => TRAIT[f as PersonColumn] ?? f;
  return {
    ...config,
    fields: config.fields.map((f) => ({
      ...f,
      name: name(f.name),
      levels: f.levels?.map((l) => (l.type === 'swapped' ? { ...l, with: name(l.with) } : l)),
    })),
    blocking: config.blocking?.map((rule) => rule.map((k) => ({ ...k, field: name(k.field) }))),
  };
}

const [nArg, seedArg] = process.argv.slice(2);
const n = Number(nArg);
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-dedupe-bench-'));
try {
  const people = generateSyntheticPeople(n, { seed: Number(seedArg ?? '1') });
  const app = await createApp(loadConfig({ TESSERA_DATA_DIR: dir }, { logLevel: 'silent' }), {
    logger: pino({ level: 'silent' }),
  });
  try {
    await app.sources.create({ name: 'bench' });
    const source = await app.storage.sources.byName('bench');
    if (!source) throw new Error('the bench source was not created');
    const started = performance.now();
    for (let k = 0; k < n; k += 500) {
      const calls = [];
      for (let i = k; i < Math.min(n, k + 500); i++) {
        const traits: Record<string, string> = {};
        for (const c of PERSON_COLUMNS) if (people.columns[c][i] !== '') traits[TRAIT[c]] = people.columns[c][i];
        calls.push({ type: 'identify', anonymousId: `a-${i}`, messageId: `m-${i}`, traits });
      }
      await app.ingest.accept(source, calls);
    }
    await app.drain();
    const loadSeconds = (performance.now() - started) / 1000;
    process.stderr.write(`dedupe   store: ${n} identify calls loaded in ${loadSeconds.toFixed(1)} s\n`);
    const s = await app.dedupe({ config: renamed(PEOPLE_MATCH_CONFIG) });
    const report: DedupeStoreReport = {
      records: n,
      loadSeconds,
      profiles: s.profiles,
      candidatePairs: s.candidatePairs,
      merged: s.merged,
      refused: s.refused,
      queued: s.queued,
      scanSeconds: s.timings.loading / 1000,
      matchSeconds: s.timings.matching / 1000,
      applySeconds: s.timings.applying / 1000,
      peakMb: peakRssMb(process.pid),
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await app.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

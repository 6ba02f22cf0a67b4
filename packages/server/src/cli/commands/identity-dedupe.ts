import { toPublicId } from '@tessera/protocol';
import { openStorage } from '../../app.js';
import type { DedupeSummary } from '../../identity/dedupe.js';
import { type CommonOptions, configFrom } from '../options.js';
import { phaseProgress } from '../phase-progress.js';
import { onServerOrStore } from '../server-or-store.js';
import { readMatchConfig } from './identity-match.js';

/**
 * `tessera identity dedupe [--source NAME] [--dry-run] [--config FILE|auto]`: the probabilistic matcher over the
 * store's profiles (docs/identity-matching.md). When a server serves the data directory, it runs there
 * (`POST /v1/identity/dedupe`, with the stored configuration); otherwise the command opens the store itself.
 */
export async function identityDedupeCommand(
  opts: CommonOptions & { source?: string; dryRun?: boolean; config?: string; json?: boolean; progress?: boolean },
): Promise<void> {
  const config = configFrom(opts);
  const matchConfig = opts.config === undefined ? undefined : readMatchConfig(opts.config);
  let sourceId: string | undefined;
  if (opts.source !== undefined) {
    const storage = await openStorage(config);
    try {
      const source = await storage.sources.byName(opts.source);
      if (!source) throw new Error(`--source: no source named "${opts.source}"`);
      sourceId = source.id;
    } finally {
      await storage.close();
    }
  }
  const summary = await onServerOrStore<DedupeSummary>(
    config,
    {
      purpose: 'tessera identity dedupe',
      path: '/v1/identity/dedupe',
      body: { ...(sourceId ? { sourceId: toPublicId('source', sourceId) } : {}), dryRun: opts.dryRun === true },
      refuseRemote:
        matchConfig === undefined
          ? undefined
          : 'store the configuration with PUT /v1/settings/identity-matching, or stop the server to use --config',
    },
    (app) =>
      app.dedupe({ sourceId, dryRun: opts.dryRun, config: matchConfig, onProgress: phaseProgress(opts, 'applying') }),
  );
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  process.stdout.write(
    `${summary.dryRun ? 'dry run: ' : ''}${summary.profiles} profiles, ${summary.candidatePairs} pairs compared, ` +
      `${summary.clusters} groups found\n` +
      `${summary.dryRun ? 'would merge' : 'merged'} ${summary.merged} profiles, ${summary.refused} groups refused by identity limits, ` +
      `${summary.dryRun ? 'would queue' : 'queued'} ${summary.queued} pairs for review\n` +
      `loading ${s(summary.timings.loading)}, matching ${s(summary.timings.matching)}, applying ${s(summary.timings.applying)}\n`,
  );
  for (const g of summary.sample)
    process.stdout.write(`  ${g.profileIds.join(' + ')} (p ≥ ${g.probability.toFixed(3)})\n`);
}

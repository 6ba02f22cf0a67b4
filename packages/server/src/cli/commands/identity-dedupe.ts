import { toPublicId } from '@tessera/protocol';
import { SingleBar } from 'cli-progress';
import pino from 'pino';
import { createApp, openStorage } from '../../app.js';
import type { DedupeOptions, DedupeSummary } from '../../identity/dedupe.js';
import { runningServer } from '../lock.js';
import { type CommonOptions, configFrom } from '../options.js';
import { serverClient } from '../server-client.js';
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
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  let summary: DedupeSummary;
  if (server) {
    if (matchConfig !== undefined)
      throw new Error(
        `a server serves ${config.dataDir}: store the configuration with PUT /v1/settings/identity-matching, or stop the server to use --config`,
      );
    const client = await serverClient(config, server.url, 'tessera identity dedupe');
    const answer = await client.call('POST', '/v1/identity/dedupe', {
      ...(sourceId ? { sourceId: toPublicId('source', sourceId) } : {}),
      dryRun: opts.dryRun === true,
    });
    if (answer.status !== 200)
      throw new Error(`${server.url}: ${answer.body.error?.code}: ${answer.body.error?.message}`);
    summary = answer.body as unknown as DedupeSummary;
  } else {
    const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
    try {
      summary = await app.dedupe({ sourceId, dryRun: opts.dryRun, config: matchConfig, onProgress: progress(opts) });
    } finally {
      await app.close();
    }
  }
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

function progress(opts: { json?: boolean; progress?: boolean }): DedupeOptions['onProgress'] {
  if (opts.progress === false || opts.json || !process.stderr.isTTY) return undefined;
  const bar = new SingleBar({ format: '{phase} [{bar}] {value}/{total}', stream: process.stderr });
  let current: string | undefined;
  return (phase, done, total) => {
    if (phase !== current) {
      if (current) bar.stop();
      current = phase;
      bar.start(Math.max(total, 1), 0, { phase: phase.padEnd(10) });
    }
    bar.update(Math.min(done, total), { phase: phase.padEnd(10) });
    if (phase === 'applying' && done >= total) bar.stop();
  };
}

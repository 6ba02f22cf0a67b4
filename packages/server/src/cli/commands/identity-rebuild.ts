import pino from 'pino';
import { createApp } from '../../app.js';
import type { RebuildSummary } from '../../identity/rebuild.js';
import { runningServer } from '../lock.js';
import { type CommonOptions, configFrom } from '../options.js';
import { serverClient } from '../server-client.js';

/**
 * `tessera identity rebuild [--since T]`: re-resolves identities from the ingest log with the current rules
 * (`identity/rebuild.ts`). Through the server's API when one serves the data directory.
 */
export async function identityRebuildCommand(opts: CommonOptions & { since?: string; json?: boolean }): Promise<void> {
  let since: number | undefined;
  if (opts.since !== undefined) {
    since = Date.parse(opts.since);
    if (!Number.isFinite(since)) throw new Error(`--since: "${opts.since}" is not a date (ISO 8601, e.g. 2026-11-01)`);
  }
  const config = configFrom(opts);
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  let summary: RebuildSummary;
  if (server) {
    const client = await serverClient(config, server.url, 'tessera identity rebuild');
    const answer = await client.call(
      'POST',
      '/v1/identity/rebuild',
      since === undefined ? {} : { since: new Date(since).toISOString() },
    );
    if (answer.status !== 200)
      throw new Error(`${server.url}: ${answer.body.error?.code}: ${answer.body.error?.message}`);
    summary = answer.body as unknown as RebuildSummary;
  } else {
    const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
    try {
      summary = await app.rebuild({ since });
    } finally {
      await app.close();
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    process.stdout.write(
      `${summary.entries} log entries, ${summary.events} events re-resolved with identity rules v${summary.settingsVersion}: ` +
        `${summary.merged} profiles merged, ${summary.linked} identifiers linked, ${summary.refused} refused by limits, ` +
        `${summary.violations} families breaking a limit sent to review\n`,
    );
}

import type { RebuildSummary } from '../../identity/rebuild.js';
import { type CommonOptions, configFrom } from '../options.js';
import { onServerOrStore } from '../server-or-store.js';

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
  const summary = await onServerOrStore<RebuildSummary>(
    config,
    {
      purpose: 'tessera identity rebuild',
      path: '/v1/identity/rebuild',
      body: since === undefined ? {} : { since: new Date(since).toISOString() },
    },
    (app) => app.rebuild({ since }),
  );
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    process.stdout.write(
      `${summary.entries} log entries, ${summary.events} events re-resolved with identity rules v${summary.settingsVersion}: ` +
        `${summary.merged} profiles merged, ${summary.linked} identifiers linked, ${summary.refused} refused by limits, ` +
        `${summary.violations} families breaking a limit sent to review\n`,
    );
}

import {
  DedupeRequest,
  DedupeSummary,
  fromPublicId,
  MatchConfig,
  MatchingSettingVersion,
  RebuildRequest,
  RebuildSummary,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../errors.js';
import { type DedupeOptions, MATCHING_SETTINGS_KEY, type DedupeSummary as Summary } from '../../identity/dedupe.js';
import { parseMatchConfig } from '../../identity/matching/index.js';
import type { RebuildOptions, RebuildSummary as RebuildResult } from '../../identity/rebuild.js';
import type { SettingsStore } from '../../settings/ports.js';
import { actorOf, authorize } from '../principal.js';
import { BEARER, documentedBody, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

/**
 * `POST /v1/identity/dedupe` (what `tessera identity dedupe` calls when a server serves the data directory): runs the
 * probabilistic matcher over the store's profiles and answers when it is done. One run at a time.
 */
export function dedupeRoutes(deps: {
  dedupe: (opts: DedupeOptions) => Promise<Summary>;
  rebuild: (opts: RebuildOptions) => Promise<RebuildResult>;
  storage: { settings: SettingsStore };
  respond: Respond;
}) {
  const settings = deps.storage.settings;
  const view = (row: Awaited<ReturnType<SettingsStore['latest']>>) => ({
    version: row?.version ?? 0,
    config: row?.value ?? null,
    createdAt: row ? new Date(row.createdAt).toISOString() : null,
    createdBy: row?.createdBy ?? null,
  });
  let running = false;
  return async (app: FastifyInstance) => {
    app.get(
      '/v1/settings/identity-matching',
      {
        schema: {
          tags: ['settings'],
          summary: 'Get the match configuration',
          description:
            'The configuration `dedupe` uses (docs/identity-matching.md); version 0 and `config: null` mean `auto`. ' +
            'Roles: marketer, analyst, dpo, admin.',
          security: BEARER,
          response: { 200: MatchingSettingVersion, ...errors(...MANAGEMENT_ERRORS) },
        },
      },
      async (request, reply) => {
        authorize(request, 'settings.read');
        return deps.respond(request, reply, view(await settings.latest(MATCHING_SETTINGS_KEY)));
      },
    );
    app.put<{ Body: unknown }>(
      '/v1/settings/identity-matching',
      {
        // Checked by `parseMatchConfig`, which names the faulty field.
        config: documentedBody(MatchConfig),
        schema: {
          tags: ['settings'],
          summary: 'Set the match configuration',
          description: 'Writes a new version (the previous ones are kept) and answers it. Role: admin.',
          security: BEARER,
          response: { 200: MatchingSettingVersion, ...errors(...MANAGEMENT_ERRORS) },
        },
      },
      async (request, reply) => {
        authorize(request, 'settings.write');
        const config = parseMatchConfig(request.body);
        const row = await settings.put(MATCHING_SETTINGS_KEY, config, actorOf(request), Date.now());
        return deps.respond(request, reply, view(row));
      },
    );
    app.post<{ Body: DedupeRequest }>(
      '/v1/identity/dedupe',
      {
        schema: {
          tags: ['identity'],
          summary: 'Deduplicate the profiles (probabilistic matching)',
          description:
            'Matches every survivor (or those of one source) with the `identity.matching` configuration (or `auto`), ' +
            'merges the groups from the auto-merge threshold under the identity limits and queues the doubtful pairs ' +
            'for review (docs/identity-matching.md). Answers when done; 409 while another run is going. Role: admin.',
          security: BEARER,
          body: DedupeRequest,
          response: { 200: DedupeSummary, ...errors(...MANAGEMENT_ERRORS, 409) },
        },
      },
      async (request, reply) => {
        authorize(request, 'identity.manage');
        if (running) throw new TesseraError('conflict', 'a deduplication run is going; try again when it ends');
        let sourceId: string | undefined;
        if (request.body.sourceId !== undefined) {
          sourceId = fromPublicId('source', request.body.sourceId);
          if (sourceId === undefined)
            throw new TesseraError('invalid_request', 'sourceId: expected a source id (src_…)');
        }
        running = true;
        try {
          return deps.respond(request, reply, await deps.dedupe({ sourceId, dryRun: request.body.dryRun }));
        } finally {
          running = false;
        }
      },
    );
    app.post<{ Body: RebuildRequest }>(
      '/v1/identity/rebuild',
      {
        schema: {
          tags: ['identity'],
          summary: 'Re-resolve identities from the ingest log',
          description:
            'After a change of the identity rules: each logged event (since `since`) is resolved again with the ' +
            'current rules; profiles they now join are merged, identifiers not linked yet are linked, and families ' +
            'breaking a current limit get a review item (nothing is unmerged automatically). Answers when done; 409 ' +
            'while a dedupe or rebuild is going. Role: admin.',
          security: BEARER,
          body: RebuildRequest,
          response: { 200: RebuildSummary, ...errors(...MANAGEMENT_ERRORS, 409) },
        },
      },
      async (request, reply) => {
        authorize(request, 'identity.manage');
        if (running)
          throw new TesseraError('conflict', 'a deduplication or rebuild run is going; try again when it ends');
        running = true;
        try {
          const since = request.body.since === undefined ? undefined : Date.parse(request.body.since);
          return deps.respond(request, reply, await deps.rebuild({ since }));
        } finally {
          running = false;
        }
      },
    );
  };
}

import path from 'node:path';
import type { Config, Role } from '../config.js';
import { type ActivationOptions, createActivation } from '../destinations/activation.js';
import type { DestinationCatalog } from '../destinations/catalog.js';
import { TesseraError } from '../errors.js';
import type { IngestWriter } from '../ingest/ingest-writer.js';
import { errorFields, type Logger } from '../logger.js';
import type { PipelineRunner } from '../pipeline/pipeline-runner.js';
import type { BatchOutcome } from '../pipeline/process-batch.js';
import { pipelineSteps } from '../pipeline/steps/index.js';
import type { SecretProvider } from '../privacy/instance-secret.js';
import type { SuppressionList } from '../privacy/suppression.js';
import { createScheduler } from '../scheduler/scheduler.js';
import type { SourceService } from '../sources/source-service.js';
import type { Storage } from '../storage/storage.js';
import { configNoticeFollower, publishConfigNotice } from './config-notices.js';
import { openJetStream } from './jetstream.js';
import { createJetStreamChangeFeed } from './jetstream-change-feed.js';
import { purgePersonFromStreams } from './jetstream-erase.js';
import { createJetStreamIngestWriter } from './jetstream-ingest-writer.js';
import { createJetStreamWorker } from './jetstream-worker.js';
import { createOutboxRelay } from './outbox-relay.js';

/** How often api nodes reload write keys and the suppression list from the store, whatever the bus said. */
const RELOAD_MS = 30_000;

/**
 * Cluster mode (DESIGN §2): the log and the change bus on JetStream, each role as `config.roles` says.
 * - `api`: the JetStream ingest writer; write keys and the suppression list kept in memory, refreshed by the config
 *   notices of the change bus (`config-notices.ts`) and reloaded every 30 s, answered from memory while PostgreSQL
 *   is down.
 * - `worker`: a pipeline consumer, the outbox relay, the destination router and delivery loops.
 * - `scheduler`: the periodic jobs.
 * A node without `api` still answers reads and `/healthz`, `/metrics`, but refuses ingest (503).
 */
export async function startCluster(deps: {
  config: Config;
  storage: Storage;
  sources: SourceService;
  suppression: SuppressionList;
  logger: Logger;
  onBatch: (outcome: BatchOutcome) => void;
  catalog: DestinationCatalog;
  activationOptions?: Partial<ActivationOptions>;
  secret: SecretProvider;
}) {
  const { config, storage, sources, suppression, logger, catalog } = deps;
  const has = (role: Role) => config.roles.includes(role);
  const handle = await openJetStream(config.natsUrl as string, config.natsPrefix, {
    ackWaitMs: config.natsAckWaitMs,
    replicas: config.natsReplicas,
  });
  if (handle.fewerReplicas.length > 0)
    logger.warn(
      { streams: handle.fewerReplicas, replicas: config.natsReplicas },
      'streams hold more replicas than TESSERA_NATS_REPLICAS; left as they are',
    );
  const jsWriter = has('api') ? createJetStreamIngestWriter(handle, logger) : undefined;
  const writer = jsWriter ?? refusingWriter();
  const relay = has('worker') ? createOutboxRelay({ handle, storage, logger }) : undefined;
  const runner: PipelineRunner = has('worker')
    ? createJetStreamWorker({
        handle,
        storage,
        steps: pipelineSteps(deps.secret),
        batchSize: config.pipelineBatchSize,
        logger,
        // The batch's outbox rows are committed: the relay of this node publishes them now, not at its next poll.
        onBatch: (outcome) => {
          deps.onBatch(outcome);
          relay?.notify();
        },
      })
    : idleRunner();
  const scheduler = has('scheduler') ? createScheduler({ storage, logger }) : undefined;
  // Workers route the change bus to destinations and deliver, sharing one durable consumer and the outboxes.
  const activation = has('worker')
    ? createActivation({
        storage,
        catalog,
        feed: await createJetStreamChangeFeed(
          handle,
          `${handle.names.pipelineConsumer.replace(/-pipeline$/, '')}-destinations`,
        ),
        logger,
        exportDir: path.join(config.dataDir, 'exports'),
        ...deps.activationOptions,
      })
    : undefined;
  const reloadKeys = () => sources.warm().catch((e) => logger.warn({ err: errorFields(e) }, 'key reload failed'));
  const reloadSuppression = () =>
    suppression.warm().catch((e) => logger.warn({ err: errorFields(e) }, 'suppression reload failed'));
  // Api nodes follow the bus's config notices from now on (what was published before, the loads below cover).
  const follower = has('api')
    ? await configNoticeFollower(
        handle,
        (notice) => {
          if (notice.kind === 'sources') void reloadKeys();
          else if (notice.kind === 'suppression' && Array.isArray(notice.hashes)) suppression.remember(notice.hashes);
        },
        logger,
      )
    : undefined;
  let reloadTimer: NodeJS.Timeout | undefined;
  return {
    writer,
    activation,
    /** Erases a person's messages from the streams (an erasure, on whichever node runs it). */
    purgePerson: (target: { values: readonly string[]; profileIds: readonly string[] }) =>
      purgePersonFromStreams(handle, target),
    runner: {
      ...runner,
      async drain() {
        await runner.drain();
        if (relay) while ((await relay.relayOnce()) > 0);
      },
    } satisfies PipelineRunner,
    start() {
      relay?.start();
      scheduler?.start();
      // Any node that changes a source or erases a person says so on the bus; api nodes act on it at once.
      sources.onChange(() => void publishConfigNotice(handle, { kind: 'sources' }, logger));
      suppression.onErased(
        (hashes) => void publishConfigNotice(handle, { kind: 'suppression', hashes: [...hashes] }, logger),
      );
      if (follower) {
        follower.start();
        // What changed between this node's first loads and the follower's start point.
        void reloadKeys();
        void reloadSuppression();
        reloadTimer = setInterval(() => {
          void reloadKeys();
          void reloadSuppression();
        }, RELOAD_MS);
        reloadTimer.unref();
      }
    },
    async stop() {
      if (reloadTimer) clearInterval(reloadTimer);
      await follower?.stop();
      await relay?.stop();
      await scheduler?.stop();
      jsWriter?.close();
      await handle.close();
    },
  };
}

/** The ingest writer of a node without the `api` role: ingest goes to api nodes. */
function refusingWriter(): IngestWriter {
  return {
    async append() {
      throw new TesseraError('unavailable', 'this node does not take ingest (no api role)', { retryAfter: 1 });
    },
    backlog: () => ({ events: 0, lagSeconds: 0, eventsPerSecond: 0, appended: 0, processed: 0 }),
    alive: () => true,
  };
}

function idleRunner(): PipelineRunner {
  return { start() {}, notify() {}, async drain() {}, async stop() {} };
}

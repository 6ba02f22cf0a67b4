import path from 'node:path';
import { toPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { type AudienceService, createAudienceService } from './audiences/audience-service.js';
import { type ComputedTraitService, createComputedTraitService } from './audiences/computed-trait-service.js';
import { createRfmService, type RfmService } from './audiences/rfm.js';
import { createAccessServices } from './auth/access-services.js';
import type { AuditLog } from './auth/audit-log.js';
import type { TokenService } from './auth/token-service.js';
import type { UserService } from './auth/user-service.js';
import { startCluster } from './cluster/start-cluster.js';
import type { Config } from './config.js';
import { type ActivationControl, type ActivationOptions, createActivation } from './destinations/activation.js';
import { createDestinationCatalog } from './destinations/catalog.js';
import { createTableChangeFeed } from './destinations/change-feed.js';
import { createDestinationService, type DestinationService } from './destinations/destination-service.js';
import { builtinDestinations } from './destinations/plugins/index.js';
import { createDestinationRegistry } from './destinations/registry.js';
import { TesseraError } from './errors.js';
import { createHttpServer } from './http/create-http-server.js';
import type { StorefrontOptions } from './http/routes/browser-sdk.js';
import { type DedupeOptions, type DedupeSummary, dedupeProfiles } from './identity/dedupe.js';
import { createIdentityAdmin, type IdentityAdmin } from './identity/identity-admin.js';
import { type RebuildOptions, type RebuildSummary, rebuildIdentities } from './identity/rebuild.js';
import { createIngestService, type IngestService } from './ingest/ingest-service.js';
import { createProcessedFilter } from './ingest/processed-filter.js';
import { createLogger, errorFields, type Logger } from './logger.js';
import { freeDiskOf } from './ops/free-disk.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createPersonalizeService, type PersonalizeService } from './personalize/personalize-service.js';
import { createEmbeddedPipeline } from './pipeline/embedded-pipeline.js';
import type { PipelineRunner } from './pipeline/pipeline-runner.js';
import { type BatchOutcome, PIPELINE_CONSUMER } from './pipeline/process-batch.js';
import { pipelineSteps } from './pipeline/steps/index.js';
import { startWriterThread } from './pipeline/thread-writer.js';
import { type ConsentService, createConsentService } from './privacy/consent-service.js';
import { instanceSecret } from './privacy/instance-secret.js';
import type { PiiClassification } from './privacy/pii.js';
import { createPrivacyService, type PrivacyService } from './privacy/privacy-service.js';
import { loadRetention, saveRetention } from './privacy/retention.js';
import { createSuppressionList } from './privacy/suppression.js';
import { createProfileService, type ProfileService } from './profiles/profile-service.js';
import { goldenRecords } from './profiles/rederive-traits.js';
import { createSurvivorshipService, type SurvivorshipService } from './profiles/survivorship-service.js';
import { createScheduler } from './scheduler/scheduler.js';
import { createSourceService, type SourceService } from './sources/source-service.js';
import { createPostgresStorage } from './storage/postgres/create-postgres-storage.js';
import { createSqliteStorage, logFileOf } from './storage/sqlite/create-sqlite-storage.js';
import type { Storage } from './storage/storage.js';

export interface AppOptions {
  logger?: Logger;
  /** In-memory SQLite (tests). */
  memory?: boolean;
  /** Run the pipeline loop (default true). Tests may drive it with `drain()` instead. */
  pipeline?: boolean;
  /** Run appends and the pipeline on the writer thread (default: embedded on a file, from compiled JS). */
  writerThread?: boolean;
  /** Run the scheduler's jobs (embedded; default: as `pipeline`). Tests may run them with `runAudienceJob`. */
  scheduler?: boolean;
  /** Run the destination router and delivery loops (default: as `pipeline`). `drain()` runs them once otherwise. */
  activation?: boolean;
  /** scrypt cost of passwords (tests lower it; the default is `auth/passwords.ts`'s). */
  passwordCost?: { N: number; r: number; p: number };
  /** Delivery tuning (tests and benchmarks: a shorter backoff, a send timeout). */
  activationOptions?: Pick<ActivationOptions, 'backoff' | 'timeoutMs' | 'pollMs' | 'concurrency' | 'fetch'>;
  /** `tessera demo`: serve the demo storefront at `/demo/store` with this write key. */
  storefront?: StorefrontOptions;
}

export interface App {
  readonly config: Config;
  readonly http: FastifyInstance;
  readonly storage: Storage;
  readonly sources: SourceService;
  readonly tokens: TokenService;
  /** Users of the web app and their sign-in. */
  readonly users: UserService;
  /** Profile reads and management changes, group-committed. */
  readonly audit: AuditLog;
  /** Which fields are personal data, masked for roles without PII access. */
  readonly pii: PiiClassification;
  readonly ingest: IngestService;
  readonly profiles: ProfileService;
  /** The identity review queue, unmerge and explain (management API). */
  readonly identity: IdentityAdmin;
  /** Probabilistic deduplication of the store's profiles (`tessera identity dedupe`). */
  dedupe(opts: DedupeOptions): Promise<DedupeSummary>;
  /** Re-resolves identities from the ingest log with the current rules (`tessera identity rebuild`). */
  rebuild(opts: RebuildOptions): Promise<RebuildSummary>;
  readonly survivorship: SurvivorshipService;
  /** Audience definitions, members, preview (DESIGN §6). */
  readonly audiences: AudienceService;
  /** Computed trait definitions and values. */
  readonly computedTraits: ComputedTraitService;
  /** RFM settings, runs and grid. */
  readonly rfm: RfmService;
  /** Read keys and answers of the personalisation endpoint. */
  readonly personalize: PersonalizeService;
  /** Destinations, deliveries, dead letters, marketing pressure (DESIGN §7). */
  readonly destinations: DestinationService;
  /** Data-subject requests: access bundles and erasures (DESIGN §8). */
  readonly privacy: PrivacyService;
  /** Consent purposes, a person's consents, decisions recorded through the API. */
  readonly consents: ConsentService;
  /** The router and delivery loops (in this process, in the embedded writer thread, or a cluster worker's). */
  readonly activation: ActivationControl | undefined;
  readonly metrics: Metrics;
  readonly pipeline: PipelineRunner;
  /** Listens on `config.host:config.port`; resolves to the URL. */
  listen(): Promise<string>;
  /** Processes everything appended so far. */
  drain(): Promise<void>;
  /** Stops accepting, finishes in-flight requests and the in-flight batch, closes the store. */
  close(): Promise<void>;
}

/** Opens the store the config names: PostgreSQL when `databaseUrl` is set, else SQLite in the data directory. */
export async function openStorage(config: Config, memory = false, externalCheckpoints = false): Promise<Storage> {
  if (config.databaseUrl) return createPostgresStorage({ url: config.databaseUrl });
  return createSqliteStorage({
    file: memory ? ':memory:' : sqliteFile(config),
    durability: config.durability,
    externalCheckpoints,
  });
}

function sqliteFile(config: Config): string {
  return path.join(config.dataDir, 'tessera.db');
}

/** The composition root (STYLE #4): the only place that picks adapters and wires modules. Nothing starts at import. */
export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  // Embedded on a file: the writer thread commits appends and runs the pipeline, the main thread serves reads and
  // HTTP, a checkpointer thread copies the WAL into the database. In-memory (tests), PostgreSQL, or running from
  // TypeScript sources: the same code in-process.
  const useThread = opts.writerThread ?? (!opts.memory && !config.databaseUrl && import.meta.url.endsWith('.js'));
  const storage = await openStorage(config, opts.memory, useThread);
  await storage.migrate();
  const metrics = createMetrics();
  // Created after the pipeline (it needs the store's feed); told of each committed batch.
  let activation: ActivationControl | undefined;
  const onBatch = (outcome: BatchOutcome) => {
    activation?.notify();
    metrics.stored.inc(outcome.stored);
    if (outcome.ms !== undefined) metrics.batchSeconds.observe(outcome.ms / 1000);
    for (const [phase, ms] of Object.entries(outcome.phases ?? {})) metrics.phaseSeconds.observe({ phase }, ms / 1000);
    metrics.merges.inc(outcome.merges);
    if (outcome.suppressed > 0) metrics.suppressed.inc({ where: 'pipeline' }, outcome.suppressed);
    if (outcome.duplicates > 0) metrics.duplicates.inc(outcome.duplicates);
    for (const q of outcome.quarantined) metrics.quarantined.inc({ code: q.code }, q.count);
  };
  const sources = createSourceService(storage);
  const secret = instanceSecret({ secret: config.instanceSecret, dataDir: config.dataDir, memory: opts.memory });
  const registry = createDestinationRegistry(builtinDestinations(path.join(config.dataDir, 'exports')));
  const catalog = createDestinationCatalog(storage, registry, logger);
  const suppression = createSuppressionList({ storage, secret });
  await suppression.warm().catch((e) => logger.warn({ err: errorFields(e) }, 'suppression list not loaded'));
  const cluster = config.natsUrl
    ? await startCluster({
        config,
        storage,
        sources,
        suppression,
        logger,
        onBatch,
        catalog,
        activationOptions: opts.activationOptions,
        secret,
      })
    : undefined;
  const runActivation = opts.activation ?? opts.pipeline !== false;
  const exportDir = path.join(config.dataDir, 'exports');
  const {
    writer,
    runner: pipeline,
    activation: threadActivation,
    appendAudit,
  } = cluster
    ? { ...cluster, activation: undefined, appendAudit: undefined }
    : useThread
      ? await startWriterThread(
          {
            file: sqliteFile(config),
            durability: config.durability,
            batchSize: config.pipelineBatchSize,
            nice: config.pipelineNice,
            logLevel: config.logLevel,
            runPipeline: opts.pipeline !== false,
            runActivation,
            runScheduler: opts.scheduler ?? opts.pipeline !== false,
            exportDir,
            instanceSecret: config.instanceSecret,
            dataDir: config.dataDir,
          },
          logger,
          onBatch,
          metrics.threads,
          config.pipelinePolicy,
        )
      : {
          ...(await createEmbeddedPipeline(storage, {
            batchSize: config.pipelineBatchSize,
            logger,
            onBatch,
            steps: pipelineSteps(secret),
          })),
          activation: undefined,
          appendAudit: undefined,
        };
  const freeDisk = opts.memory || config.databaseUrl ? () => Number.MAX_SAFE_INTEGER : freeDiskOf(config.dataDir);
  const maxBacklog = () => config.maxBacklog || Math.max(200_000, Math.round(writer.backlog().eventsPerSecond * 600));
  const access = await createAccessServices(storage, logger, { passwordCost: opts.passwordCost, appendAudit });
  const { tokens } = access;
  // Embedded on a file, every append passes here, so a filter can hold every processed key (a thread scans the
  // store's; in-memory and from TypeScript sources there is no such thread, and the store is asked each time).
  const processed = useThread
    ? createProcessedFilter(
        { mainFile: sqliteFile(config), logFile: logFileOf(sqliteFile(config)), consumer: PIPELINE_CONSUMER },
        logger,
      )
    : undefined;
  const ingest = createIngestService({
    storage,
    writer,
    metrics,
    suppression,
    processed,
    limits: {
      get maxBacklog() {
        return maxBacklog();
      },
      freeDisk,
      minFreeDisk: config.minFreeDisk,
    },
  });
  const profiles = createProfileService(storage);
  const identity = createIdentityAdmin({ storage, golden: goldenRecords });
  const dedupe = (o: DedupeOptions) => dedupeProfiles({ storage, golden: goldenRecords }, o);
  const rebuild = async (o: RebuildOptions) => {
    if (config.natsUrl)
      throw new TesseraError(
        'conflict',
        'rebuild reads the ingest_log table; in cluster mode the log is a JetStream stream, which it does not read yet',
      );
    return rebuildIdentities({ storage, golden: goldenRecords }, o);
  };
  const survivorship = createSurvivorshipService(storage);
  const audiences = createAudienceService(storage);
  const personalize = createPersonalizeService(storage, sources);
  const computedTraits = createComputedTraitService(storage);
  const rfm = createRfmService(storage);
  activation =
    cluster?.activation ??
    threadActivation ??
    (cluster
      ? undefined
      : createActivation({
          storage,
          catalog,
          feed: await createTableChangeFeed(storage, 'destinations'),
          logger,
          exportDir,
          ...opts.activationOptions,
        }));
  const privacy = createPrivacyService({
    storage,
    secret,
    suppression,
    logger,
    // Outside the database: cluster mode's streams, and the files this node's file destinations wrote (another
    // node's files are its own: docs/privacy.md).
    purgeElsewhere: async (target) => {
      // Audit entries buffered before the erasure committed name the person: write them, then blank them too.
      await access.audit.flush();
      await storage.transaction((tx) => tx.audit.forgetProfiles(target.profileIds), { write: true });
      const exports = activation
        ? await activation.scrubExports([...target.values, ...target.profileIds.map((id) => toPublicId('profile', id))])
        : { files: 0, lines: 0 };
      return {
        ...(cluster ? await cluster.purgePerson(target) : {}),
        exportFilesScrubbed: exports.files,
        exportLinesRemoved: exports.lines,
      };
    },
  });
  // Embedded on SQLite, one process holds the data directory: a request still running was cut short by a stop.
  if (!config.databaseUrl) await privacy.recover();
  const consents = createConsentService(storage);
  const destinations = createDestinationService({
    storage,
    registry,
    // The catalog of this process's loops, or of the writer thread's (another cluster node reloads within 5 s).
    changed: () => (threadActivation ?? activation)?.refresh() ?? catalog.refresh(),
    logger,
    wake: (id) => activation?.wake(id),
  });
  // Embedded: this process is every role, the scheduler's included (in the writer thread when there is one).
  // Cluster mode starts it with its roles.
  const scheduler =
    !cluster && !useThread && (opts.scheduler ?? opts.pipeline !== false)
      ? createScheduler({ storage, logger })
      : undefined;
  const http = await createHttpServer({
    logger,
    storage,
    writer,
    metrics,
    sources,
    ingest,
    profiles,
    identity,
    dedupe,
    rebuild,
    survivorship,
    audiences,
    computedTraits,
    rfm,
    personalize,
    destinations,
    privacy,
    consents,
    ...access,
    retention: {
      get: () => loadRetention(storage),
      save: (value, by) => saveRetention(storage, value, by, Date.now()),
    },
    clusterBus: cluster !== undefined,
    consumer: PIPELINE_CONSUMER,
    storefront: opts.storefront,
  });
  if (opts.pipeline !== false) pipeline.start();
  cluster?.start();
  scheduler?.start();
  if (activation && runActivation) await activation.start();

  return {
    config,
    http,
    storage,
    sources,
    tokens,
    users: access.users,
    audit: access.audit,
    pii: access.pii,
    ingest,
    profiles,
    identity,
    dedupe,
    rebuild,
    survivorship,
    audiences,
    computedTraits,
    rfm,
    personalize,
    destinations,
    privacy,
    consents,
    activation,
    metrics,
    pipeline,
    async listen() {
      return http.listen({ host: config.host, port: config.port });
    },
    async drain() {
      await pipeline.drain();
      await activation?.drain();
    },
    async close() {
      // Each step runs even if one before it fails; the store closes last.
      try {
        await http.close();
      } finally {
        try {
          await privacy.idle();
          await access.audit.close();
          await scheduler?.stop();
          await pipeline.stop();
          await activation?.stop();
          await processed?.stop();
        } finally {
          try {
            await cluster?.stop();
          } finally {
            await storage.close();
          }
        }
      }
    },
  };
}

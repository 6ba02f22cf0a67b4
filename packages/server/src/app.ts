import { statfsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createTokenService, type TokenService } from './auth/token-service.js';
import type { Config } from './config.js';
import { createHttpServer } from './http/create-http-server.js';
import { createIngestService, type IngestService } from './ingest/ingest-service.js';
import { createLocalIngestWriter } from './ingest/local-ingest-writer.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createPipelineRunner, type PipelineRunner } from './pipeline/pipeline-runner.js';
import { PIPELINE_CONSUMER } from './pipeline/process-batch.js';
import { DEFAULT_STEPS } from './pipeline/steps/index.js';
import { createProfileService, type ProfileService } from './profiles/profile-service.js';
import { createSourceService, type SourceService } from './sources/source-service.js';
import { createPostgresStorage } from './storage/postgres/create-postgres-storage.js';
import { createSqliteStorage } from './storage/sqlite/create-sqlite-storage.js';
import type { Storage } from './storage/storage.js';

export interface AppOptions {
  logger?: Logger;
  /** In-memory SQLite (tests). */
  memory?: boolean;
  /** Run the pipeline loop (default true). Tests may drive it with `drain()` instead. */
  pipeline?: boolean;
}

export interface App {
  readonly config: Config;
  readonly http: FastifyInstance;
  readonly storage: Storage;
  readonly sources: SourceService;
  readonly tokens: TokenService;
  readonly ingest: IngestService;
  readonly profiles: ProfileService;
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
export async function openStorage(config: Config, memory = false): Promise<Storage> {
  if (config.databaseUrl) return createPostgresStorage({ url: config.databaseUrl });
  return createSqliteStorage({
    file: memory ? ':memory:' : path.join(config.dataDir, 'tessera.db'),
    durability: config.durability,
  });
}

/** The composition root (STYLE #4): the only place that picks adapters and wires modules. Nothing starts at import. */
export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const storage = await openStorage(config, opts.memory);
  await storage.migrate();
  const metrics = createMetrics();
  let runner: PipelineRunner | undefined;
  const writer = await createLocalIngestWriter(storage, PIPELINE_CONSUMER, () => runner?.notify());
  runner = createPipelineRunner({
    storage,
    steps: DEFAULT_STEPS,
    batchSize: config.pipelineBatchSize,
    logger,
    onBatch: (outcome) => {
      metrics.stored.inc(outcome.stored);
      metrics.merges.inc(outcome.merges);
      if (outcome.duplicates > 0) metrics.duplicates.inc(outcome.duplicates);
      for (const q of outcome.quarantined) metrics.quarantined.inc({ code: q.code }, q.count);
    },
    timed: (outcome, ms) => writer.observe(outcome, ms),
  });
  const pipeline = runner;
  const freeDisk = () => {
    if (opts.memory || config.databaseUrl) return Number.MAX_SAFE_INTEGER;
    try {
      const s = statfsSync(config.dataDir);
      return s.bavail * s.bsize;
    } catch {
      return Number.MAX_SAFE_INTEGER;
    }
  };
  const maxBacklog = () => config.maxBacklog || Math.max(200_000, Math.round(writer.backlog().eventsPerSecond * 600));
  const sources = createSourceService(storage);
  const tokens = createTokenService(storage);
  const ingest = createIngestService({
    storage,
    writer,
    metrics,
    limits: {
      get maxBacklog() {
        return maxBacklog();
      },
      freeDisk,
      minFreeDisk: config.minFreeDisk,
    },
  });
  const profiles = createProfileService(storage);
  const http = await createHttpServer({
    logger,
    storage,
    writer,
    metrics,
    sources,
    tokens,
    ingest,
    profiles,
    consumer: PIPELINE_CONSUMER,
  });
  if (opts.pipeline !== false) pipeline.start();

  return {
    config,
    http,
    storage,
    sources,
    tokens,
    ingest,
    profiles,
    metrics,
    pipeline,
    async listen() {
      return http.listen({ host: config.host, port: config.port });
    },
    drain: () => pipeline.drain(),
    async close() {
      await http.close();
      await pipeline.stop();
      await storage.close();
    },
  };
}

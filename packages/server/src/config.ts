import path from 'node:path';
import { PIPELINE_POLICIES, type PipelinePolicy } from './pipeline/pipeline-policy.js';

/**
 * Infrastructure configuration, parsed once from an environment object (STYLE #5). Business settings (identity
 * rules, purposes, caps) are not here: they are versioned rows (see `settings/`).
 */
export interface Config {
  /** Data directory of the embedded mode (SQLite files, lock). */
  readonly dataDir: string;
  /** `postgres://…` for PostgreSQL; absent = embedded SQLite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly host: string;
  readonly port: number;
  /** `normal`: survives a process crash; `full`: survives power loss (SQLite synchronous=FULL). */
  readonly durability: 'normal' | 'full';
  /** Backlog (events) above which ingest answers 503; 0 = derive from measured capacity (ten minutes). */
  readonly maxBacklog: number;
  /** Free-disk floor in bytes below which ingest answers 503. */
  readonly minFreeDisk: number;
  readonly logLevel: string;
  /** Events per pipeline transaction. */
  readonly pipelineBatchSize: number;
  /**
   * Nice value (0 to 19, Linux) of the embedded writer thread, which runs the pipeline and the deliveries: when a
   * load takes every core, acknowledging ingest goes first and the pipeline catches up after (the backlog cap still
   * bounds how far behind). 0 on a machine that other busy work shares: the deliveries would wait behind it too.
   */
  readonly pipelineNice: number;
  /**
   * Scheduling policy of the embedded writer thread on Linux (`normal` or `idle`, `TESSERA_PIPELINE_POLICY`): `idle`
   * runs the pipeline and the deliveries on cores nothing else wants, so look-ups and acknowledgements never wait for
   * its time slice; a guard restores `normal` for a while when it starves (`pipeline/pipeline-policy.ts`).
   */
  readonly pipelinePolicy: PipelinePolicy;
  /**
   * `nats://…` of a NATS server with JetStream: cluster mode (DESIGN §2), with `databaseUrl`. The ingest log and the
   * change bus are JetStream streams; absent = the log is a table of the store.
   */
  readonly natsUrl: string | undefined;
  /** Prefix of the JetStream stream and consumer names (several installs on one NATS). */
  readonly natsPrefix: string;
  /** How long a worker may hold a log message unacknowledged before it is delivered to another (ms). */
  readonly natsAckWaitMs: number;
  /** Copies of each stream (`TESSERA_NATS_REPLICAS`, 1 to 5): 3 in a NATS cluster, so a stream outlives a server. */
  readonly natsReplicas: number;
  /** What this process does in cluster mode: `api` (HTTP), `worker` (pipeline, outbox relay), `scheduler` (jobs). */
  readonly roles: readonly Role[];
  /** `TESSERA_INSTANCE_SECRET`: the key of the suppression list's HMACs (hex, ≥ 32 bytes); else `<dataDir>/instance.key`. */
  readonly instanceSecret: string | undefined;
}

export const ROLES = ['api', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

/** Parses `api,worker` (any subset of {@link ROLES}, at least one). */
export function parseRoles(text: string): Role[] {
  const roles = [...new Set(text.split(',').map((r) => r.trim()))].filter((r) => r !== '');
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0 || roles.length === 0)
    throw new Error(`roles must be a comma-separated subset of ${ROLES.join(', ')}, got "${text}"`);
  return roles as Role[];
}

const DEFAULTS = {
  dataDir: './tessera-data',
  host: '127.0.0.1',
  port: 8700,
  pipelineBatchSize: 500,
  minFreeDisk: 256 * 1024 * 1024,
};

function int(env: Record<string, string | undefined>, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

/** Parses and validates `TESSERA_*` variables, applies defaults and overrides, freezes the result. */
export function loadConfig(env: Record<string, string | undefined>, overrides: Partial<Config> = {}): Config {
  const durability = env.TESSERA_DURABILITY ?? 'normal';
  if (durability !== 'normal' && durability !== 'full') {
    throw new Error(`TESSERA_DURABILITY must be "normal" or "full", got "${durability}"`);
  }
  const config: Config = {
    dataDir: path.resolve(env.TESSERA_DATA_DIR ?? DEFAULTS.dataDir),
    databaseUrl: env.TESSERA_DATABASE_URL || undefined,
    host: env.TESSERA_HOST ?? DEFAULTS.host,
    port: int(env, 'TESSERA_PORT', DEFAULTS.port),
    durability,
    maxBacklog: int(env, 'TESSERA_MAX_BACKLOG', 0),
    minFreeDisk: int(env, 'TESSERA_MIN_FREE_DISK', DEFAULTS.minFreeDisk),
    logLevel: env.TESSERA_LOG_LEVEL ?? 'info',
    pipelineBatchSize: int(env, 'TESSERA_PIPELINE_BATCH', DEFAULTS.pipelineBatchSize, 1),
    pipelineNice: int(env, 'TESSERA_PIPELINE_NICE', 0),
    pipelinePolicy: (env.TESSERA_PIPELINE_POLICY || 'normal') as PipelinePolicy,
    natsUrl: env.TESSERA_NATS_URL || undefined,
    natsPrefix: env.TESSERA_NATS_PREFIX || 'TESSERA',
    natsAckWaitMs: int(env, 'TESSERA_NATS_ACK_WAIT_MS', 60_000, 1000),
    natsReplicas: int(env, 'TESSERA_NATS_REPLICAS', 1, 1),
    roles: parseRoles(env.TESSERA_ROLES || ROLES.join(',')),
    instanceSecret: env.TESSERA_INSTANCE_SECRET || undefined,
    ...overrides,
  };
  if (config.natsUrl && !config.databaseUrl)
    throw new Error('TESSERA_NATS_URL (cluster mode) needs TESSERA_DATABASE_URL (PostgreSQL)');
  if (config.instanceSecret !== undefined && !/^([0-9a-fA-F]{2}){32,}$/.test(config.instanceSecret))
    throw new Error('TESSERA_INSTANCE_SECRET must be at least 64 hex digits (32 bytes)');
  if (!PIPELINE_POLICIES.includes(config.pipelinePolicy))
    throw new Error(`TESSERA_PIPELINE_POLICY must be "normal" or "idle", got "${config.pipelinePolicy}"`);
  if (config.pipelineNice > 19) throw new Error(`TESSERA_PIPELINE_NICE must be 0 to 19, got ${config.pipelineNice}`);
  if (config.natsReplicas > 5) throw new Error(`TESSERA_NATS_REPLICAS must be 1 to 5, got ${config.natsReplicas}`);
  if (!/^[A-Za-z0-9_-]+$/.test(config.natsPrefix))
    throw new Error(`TESSERA_NATS_PREFIX must be letters, digits, _ or -, got "${config.natsPrefix}"`);
  return Object.freeze(config);
}

/** The config as it may be logged: the database URL's password is redacted. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl && redactUrl(config.databaseUrl),
    natsUrl: config.natsUrl && redactUrl(config.natsUrl),
    instanceSecret: config.instanceSecret && '[redacted]',
  };
}

/** A database URL as it may be shown: the password (`user:password@`, or a `password=` parameter) becomes `***`. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@,]*):[^@,]*@/g, '//$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

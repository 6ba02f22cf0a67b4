import pino from 'pino';
import { type Config, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';

export interface CommonOptions {
  data?: string;
  port?: string;
  host?: string;
  databaseUrl?: string;
  natsUrl?: string;
  roles?: string;
}

/** The config of a CLI command: the environment, overridden by flags. Only the CLI and `main` read process.env. */
export function configFrom(opts: CommonOptions): Config {
  const env = { ...process.env };
  if (opts.data) env.TESSERA_DATA_DIR = opts.data;
  if (opts.port) env.TESSERA_PORT = opts.port;
  if (opts.host) env.TESSERA_HOST = opts.host;
  if (opts.databaseUrl) env.TESSERA_DATABASE_URL = opts.databaseUrl;
  if (opts.natsUrl) env.TESSERA_NATS_URL = opts.natsUrl;
  if (opts.roles) env.TESSERA_ROLES = opts.roles;
  return loadConfig(env);
}

/** Logs of CLI commands go to stderr, so `--json` output on stdout stays clean. */
export function cliLogger(config: Config, quiet = false) {
  return quiet ? pino({ level: 'silent' }) : createLogger(config.logLevel);
}

import { mkdirSync } from 'node:fs';
import { type App, type AppOptions, createApp } from '../../app.js';
import { takeLock } from '../lock.js';
import { type CommonOptions, cliLogger, configFrom } from '../options.js';

/** Starts a server and stops it gracefully on SIGINT / SIGTERM (in-flight requests and batch finish first). */
export async function startServer(
  opts: CommonOptions,
  quiet = false,
  appOptions: Pick<AppOptions, 'storefront'> = {},
): Promise<{ app: App; url: string; stop: () => Promise<void> }> {
  const config = configFrom(opts);
  if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true });
  const logger = cliLogger(config, quiet);
  const app = await createApp(config, { logger, ...appOptions });
  const url = await app.listen();
  const release = config.databaseUrl ? () => undefined : takeLock(config.dataDir, { pid: process.pid, url });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      await app.close();
      release();
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  return { app, url, stop };
}

export async function serveCommand(opts: CommonOptions): Promise<void> {
  const { url } = await startServer(opts);
  process.stderr.write(`Tessera listening on ${url}\n`);
}

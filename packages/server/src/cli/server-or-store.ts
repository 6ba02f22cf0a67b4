import pino from 'pino';
import { type App, createApp } from '../app.js';
import type { Config } from '../config.js';
import { runningServer } from './lock.js';
import { serverClient } from './server-client.js';

/**
 * A command that writes (DESIGN §9): when a server serves the data directory, `POST path` with `body` to it (an
 * answer other than 200 becomes an error naming its code and message); otherwise an app on the store, without its
 * pipeline loop, runs `local` and is closed.
 */
export async function onServerOrStore<T>(
  config: Config,
  request: { purpose: string; path: string; body: unknown; refuseRemote?: string },
  local: (app: App) => Promise<T>,
): Promise<T> {
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  if (server) {
    if (request.refuseRemote) throw new Error(`a server serves ${config.dataDir}: ${request.refuseRemote}`);
    const client = await serverClient(config, server.url, request.purpose);
    const answer = await client.call('POST', request.path, request.body);
    if (answer.status !== 200)
      throw new Error(`${server.url}: ${answer.body.error?.code}: ${answer.body.error?.message}`);
    return answer.body as T;
  }
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  try {
    return await local(app);
  } finally {
    await app.close();
  }
}

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

/** The API of the server serving a data directory, for commands with several requests (`serverApi`). */
export interface ServerApi {
  readonly url: string;
  /**
   * `method path` with `body`: the answer's body when its status is 2xx; otherwise an error naming the code and
   * message. Answers must be JSON (`ServerClient.call` parses them): a CSV export is read from its JSON pages.
   */
  request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/**
 * The API of the server the data directory's lock names (DESIGN §9), or `undefined` when none serves it (or the
 * store is PostgreSQL): the command then opens the store itself, as `onServerOrStore` does.
 */
export async function serverApi(config: Config, purpose: string): Promise<ServerApi | undefined> {
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  if (!server) return undefined;
  const client = await serverClient(config, server.url, purpose);
  return {
    url: server.url,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const answer = await client.call(method, path, body);
      if (answer.status < 200 || answer.status > 299)
        throw new Error(
          `${server.url}: ${answer.body.error?.code ?? answer.status}: ${answer.body.error?.message ?? ''}`,
        );
      return answer.body as T;
    },
  };
}

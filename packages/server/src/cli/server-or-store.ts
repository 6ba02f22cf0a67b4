import pino from 'pino';
import { type App, createApp } from '../app.js';
import type { Config } from '../config.js';
import { runningServer } from './lock.js';
import { type CommonOptions, configFrom } from './options.js';
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

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One request to the management API; the answer's body when 2xx, else an error naming its code and message. */
// biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, typed by each caller
export type ManagementCall = <T = any>(method: Method, path: string, body?: unknown) => Promise<T>;

/**
 * Runs `fn` against the management API: over HTTP to the server serving the data directory when there is one,
 * else through an app on the store answering its own routes in-process (so both paths give the same views and
 * errors), with a short-lived admin token of the operator at the console, as `tessera import` uses. The app is
 * closed after `fn`, once its background work (an erasure) is over.
 */
export async function withManagementApi<T>(
  opts: CommonOptions,
  purpose: string,
  fn: (call: ManagementCall, via: 'server' | 'store') => Promise<T>,
): Promise<T> {
  const config = configFrom(opts);
  const api = await serverApi(config, purpose);
  if (api) {
    const request = api.request as <U>(method: Method, path: string, body?: unknown) => Promise<U>;
    return fn((method, path, body) => request(method, path, body), 'server');
  }
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  try {
    const token = await app.tokens.create(`cli ${purpose}`, ['admin'], 10 * 60_000);
    return await fn(async (method, path, body) => {
      const res = await app.http.inject({
        method,
        url: path,
        headers: {
          authorization: `Bearer ${token.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      const answer = res.body ? res.json() : {};
      if (res.statusCode < 200 || res.statusCode > 299)
        throw new Error(`${answer.error?.code ?? res.statusCode}: ${answer.error?.message ?? ''}`);
      return answer;
    }, 'store');
  } finally {
    await app.close();
  }
}

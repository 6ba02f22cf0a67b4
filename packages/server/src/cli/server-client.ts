import { openStorage } from '../app.js';
import { createTokenService } from '../auth/token-service.js';
import type { Config } from '../config.js';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; details?: unknown } };
}

/** A client of the server that serves a data directory, for CLI commands that write (DESIGN §9). */
export interface ServerClient {
  readonly url: string;
  call(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
}

/**
 * Mints an admin token that expires in one hour directly in the store (the CLI has the data directory, so it has
 * that right already) and returns a client of the server at `url` that uses it.
 */
export async function serverClient(config: Config, url: string, purpose: string): Promise<ServerClient> {
  const storage = await openStorage(config);
  let token: string;
  try {
    token = (await createTokenService(storage).create(`${purpose} (expires in 1 h)`, ['admin'], 3_600_000)).token;
  } finally {
    await storage.close();
  }
  return {
    url,
    async call(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as ApiAnswer['body'] };
    },
  };
}

import type { QuarantinedItem } from '@tessera/protocol';
import { fromPublicId } from '@tessera/protocol';
import pino from 'pino';
import { createApp } from '../../app.js';
import type { Config } from '../../config.js';
import { isTesseraError } from '../../errors.js';
import { serverClient } from '../server-client.js';

/** What one batch of imported calls gave. */
export interface SinkResult {
  accepted: number;
  duplicates: number;
  quarantined: QuarantinedItem[];
}

/** Where `tessera import` sends its calls: the store itself, or the server that serves the data directory. */
export interface CallSink {
  /** Bare id of the source (message ids are derived from it). */
  readonly sourceId: string;
  send(calls: unknown[]): Promise<SinkResult>;
  /** Processes what was sent (local) or leaves it to the server (remote), then releases everything. */
  finish(): Promise<void>;
  /** The server's URL when a running server processes the calls. */
  readonly serverUrl?: string;
}

/** No server runs: an app on the store, without HTTP; the calls are processed before the command ends. */
export async function localSink(config: Config, sourceName: string): Promise<CallSink> {
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  try {
    const source =
      (await app.storage.sources.byName(sourceName)) ??
      (await app.sources.get((await app.sources.create({ name: sourceName, kind: 'import' })).source.id));
    return {
      sourceId: source.id,
      async send(calls) {
        try {
          return await app.ingest.accept(source, calls);
        } catch (e) {
          const details = isTesseraError(e)
            ? (e.details as { quarantined?: QuarantinedItem[] } | undefined)
            : undefined;
          if (!details?.quarantined) throw e;
          return { accepted: 0, duplicates: 0, quarantined: details.quarantined };
        }
      },
      async finish() {
        try {
          await app.drain();
        } finally {
          await app.close();
        }
      },
    };
  } catch (e) {
    await app.close();
    throw e;
  }
}

/**
 * A server serves the data directory (its lock names it): the calls go through its API (DESIGN §9), authenticated
 * by an admin token minted in the store for one hour; the server's pipeline processes them.
 */
export async function remoteSink(config: Config, url: string, sourceName: string): Promise<CallSink> {
  const { call } = await serverClient(config, url, 'tessera import');
  const list = await call('GET', '/v1/sources');
  const items = (list.body.items ?? []) as { id: string; name: string }[];
  let publicId = items.find((s) => s.name === sourceName)?.id;
  if (!publicId) {
    const created = await call('POST', '/v1/sources', { name: sourceName, kind: 'import' });
    if (created.status !== 201)
      throw new Error(`the server refused to create source "${sourceName}": ${created.body.error?.message}`);
    publicId = created.body.id as string;
  }
  const sourceId = fromPublicId('source', publicId) as string;
  return {
    sourceId,
    serverUrl: url,
    async send(calls) {
      const res = await call('POST', `/v1/sources/${encodeURIComponent(publicId)}/calls`, { calls });
      if (res.status === 200) return res.body as unknown as SinkResult;
      const details = res.body.error?.details as { quarantined?: QuarantinedItem[] } | undefined;
      if (res.body.error?.code === 'no_valid_events' && details?.quarantined)
        return { accepted: 0, duplicates: 0, quarantined: details.quarantined };
      throw new Error(`the server at ${url} answered ${res.status}: ${res.body.error?.message ?? 'no error message'}`);
    },
    async finish() {},
  };
}

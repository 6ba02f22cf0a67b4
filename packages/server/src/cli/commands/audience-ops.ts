import { type AudiencePreview, type AudienceView, toPublicId } from '@tessera/protocol';
import pino from 'pino';
import { createApp } from '../../app.js';
import { audienceView, memberView } from '../../audiences/audience-view.js';
import { type AudienceJobSummary, runAudienceJob } from '../../audiences/recompute.js';
import { type CommonOptions, configFrom } from '../options.js';
import { type ServerApi, serverApi } from '../server-or-store.js';

/**
 * What `tessera audiences` does (`AudienceOps`), against a running server's API (`/v1/audiences…`) or against the
 * store, opened as an app without its pipeline loop; on the store, a write runs the scheduler's audience job
 * (`runAudienceJob`) before answering, since no scheduler runs then (commands: `audiences.ts`).
 */

/** An audience as the API shows it. */
export type View = AudienceView;

/** A current member as the API shows it. */
export interface Member {
  profileId: string;
  enteredAt: string;
  version: number;
}

/** What a write did: the audience, and, on the store, the audience job run after it. */
export interface Written {
  audience: View;
  via: 'server' | 'store';
  job?: AudienceJobSummary;
}

/** What the subcommands do, against the store or against a running server's API. */
export interface AudienceOps {
  readonly via: 'server' | 'store';
  list(): Promise<View[]>;
  get(key: string): Promise<View>;
  /** The number of saved versions (deleted included). */
  versions(key: string): Promise<number>;
  create(body: Record<string, unknown>): Promise<Written>;
  update(key: string, body: Record<string, unknown>): Promise<Written>;
  remove(key: string): Promise<Written>;
  preview(body: Record<string, unknown>): Promise<AudiencePreview>;
  /** The first `limit` members, by profile id. */
  members(key: string, limit: number): Promise<Member[]>;
  /** Every member, a page at a time. */
  eachMembers(key: string, onPage: (page: Member[]) => void): Promise<void>;
  /** Asks for a full recomputation; on a server with `wait`, until it has run. */
  recompute(key: string, wait: boolean, onWait: () => void): Promise<Written & { waited?: boolean }>;
  close(): Promise<void>;
}

const AUTHOR = 'cli';
const PAGE = 1_000;
/** How long `recompute --wait` waits for the server's scheduler. */
const WAIT_MS = 10 * 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function viaStore(config: ReturnType<typeof configFrom>): Promise<AudienceOps> {
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  const { audiences } = app;
  /** What the scheduler would do next: recompute what was saved, deleted or asked for. */
  const job = () => runAudienceJob(app.storage);
  return {
    via: 'store',
    list: async () => (await audiences.list()).map(audienceView),
    get: async (key) => audienceView(await audiences.get(key)),
    versions: async (key) => (await audiences.versions(key)).length,
    async create(body) {
      const created = await audiences.create(body, AUTHOR);
      const summary = await job();
      return { audience: audienceView(await audiences.get(created.key)), via: 'store', job: summary };
    },
    async update(key, body) {
      await audiences.update(key, body, AUTHOR);
      const summary = await job();
      return { audience: audienceView(await audiences.get(key)), via: 'store', job: summary };
    },
    async remove(key) {
      const deleted = audienceView(await audiences.remove(key, AUTHOR));
      const summary = await job();
      return { audience: deleted, via: 'store', job: summary };
    },
    async preview(body) {
      const p = await audiences.preview(body);
      return { ...p, sample: p.sample.map((id) => toPublicId('profile', id)) };
    },
    async members(key, limit) {
      return (await audiences.members(key, { limit })).map(memberView);
    },
    async eachMembers(key, onPage) {
      for (let after: string | undefined; ; ) {
        const page = await audiences.members(key, { limit: PAGE, after });
        onPage(page.map(memberView));
        if (page.length < PAGE) return;
        after = page[page.length - 1].profileId;
      }
    },
    async recompute(key) {
      await audiences.requestRecompute(key);
      const summary = await job();
      return { audience: audienceView(await audiences.get(key)), via: 'store', job: summary };
    },
    close: () => app.close(),
  };
}

function viaServer(api: ServerApi): AudienceOps {
  const path = (key: string, rest = '') => `/v1/audiences/${encodeURIComponent(key)}${rest}`;
  const page = (key: string, limit: number, cursor: string | null) =>
    api.request<{ items: Member[]; nextCursor: string | null }>(
      'GET',
      path(key, `/members?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    );
  return {
    via: 'server',
    list: async () => (await api.request<{ items: View[] }>('GET', '/v1/audiences')).items,
    get: (key) => api.request<View>('GET', path(key)),
    versions: async (key) => (await api.request<{ items: unknown[] }>('GET', path(key, '/versions'))).items.length,
    create: async (body) => ({ audience: await api.request<View>('POST', '/v1/audiences', body), via: 'server' }),
    update: async (key, body) => ({ audience: await api.request<View>('PATCH', path(key), body), via: 'server' }),
    remove: async (key) => ({ audience: await api.request<View>('DELETE', path(key)), via: 'server' }),
    preview: (body) => api.request<AudiencePreview>('POST', '/v1/audiences/preview', body),
    async members(key, limit) {
      const members: Member[] = [];
      let cursor: string | null = null;
      do {
        const p = await page(key, Math.min(PAGE, limit - members.length), cursor);
        members.push(...p.items);
        cursor = p.nextCursor;
      } while (cursor !== null && members.length < limit);
      return members;
    },
    async eachMembers(key, onPage) {
      let cursor: string | null = null;
      do {
        const p = await page(key, PAGE, cursor);
        onPage(p.items);
        cursor = p.nextCursor;
      } while (cursor !== null);
    },
    async recompute(key, wait, onWait) {
      const asked = Date.now();
      const first = await api.request<View>('POST', path(key, '/recompute'));
      if (!wait) return { audience: first, via: 'server', waited: false };
      // Done when a recomputation of the current version ran after the request: its time is new, or later than
      // the request (a run that finished between the request and its answer).
      const done = (a: View) =>
        a.status === 'ready' &&
        a.computedAt !== null &&
        (a.computedAt !== first.computedAt || Date.parse(a.computedAt) >= asked);
      const deadline = Date.now() + WAIT_MS;
      let audience = first;
      if (!done(audience)) onWait();
      while (!done(audience)) {
        if (Date.now() > deadline)
          throw new Error(`${api.url}: audience "${key}" not recomputed within ${WAIT_MS / 60_000} minutes`);
        await sleep(200);
        audience = await api.request<View>('GET', path(key));
      }
      return { audience, via: 'server', waited: true };
    },
    close: async () => {},
  };
}

/** Runs `fn` with the operations of the server serving the data directory, or of the store. */
export async function withOps<T>(opts: CommonOptions, fn: (ops: AudienceOps) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const api = await serverApi(config, 'tessera audiences');
  const ops = api ? viaServer(api) : await viaStore(config);
  try {
    return await fn(ops);
  } finally {
    await ops.close();
  }
}

import { type AudiencePreview, type AudienceView, toPublicId } from '@tessera/protocol';
import pino from 'pino';
import { createApp } from '../../app.js';
import type { AudienceDetails } from '../../audiences/audience-service.js';
import type { MembershipRow } from '../../audiences/ports.js';
import { type AudienceJobSummary, runAudienceJob } from '../../audiences/recompute.js';
import { type CommonOptions, configFrom } from '../options.js';
import { json, out, readJsonOption, table } from '../output.js';
import { type ServerApi, serverApi } from '../server-or-store.js';

/**
 * `tessera audiences list | show | create | update | delete | preview | members | recompute` (DESIGN §6, §9,
 * docs/audiences.md). When a server serves the data directory, every subcommand goes through its API
 * (`/v1/audiences…`). Otherwise the command opens the store itself (an app without its pipeline loop) and, since no
 * scheduler runs then, a write (create, update, delete, recompute) runs the scheduler's audience job
 * (`runAudienceJob`) before answering, so the store is left as a server would leave it a second later.
 */

/** An audience as the API shows it. */
type View = AudienceView;

/** A current member as the API shows it. */
interface Member {
  profileId: string;
  enteredAt: string;
  version: number;
}

/** What a write did: the audience, and, on the store, the audience job run after it. */
interface Written {
  audience: View;
  via: 'server' | 'store';
  job?: AudienceJobSummary;
}

/** What the subcommands do, against the store or against a running server's API. */
interface AudienceOps {
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

type Opts = CommonOptions & { json?: boolean };

const AUTHOR = 'cli';
const PAGE = 1_000;
const CSV_HEADER = 'profile_id,entered_at,version\n';
/** How long `recompute --wait` waits for the server's scheduler. */
const WAIT_MS = 10 * 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The API's view of an audience (`toView` of `http/routes/audiences.ts`), for answers read from the store. */
function viewOf(a: AudienceDetails): View {
  return {
    key: a.key,
    name: a.name,
    description: a.description,
    definition: a.definition,
    summary: a.summary,
    version: a.version,
    members: a.members,
    status: a.computedVersion === a.version ? 'ready' : 'computing',
    computedAt: iso(a.computedAt),
    createdAt: iso(a.createdAt) as string,
    createdBy: a.createdBy,
    updatedAt: iso(a.updatedAt) as string,
    updatedBy: a.updatedBy,
  };
}

const memberOf = (m: MembershipRow): Member => ({
  profileId: toPublicId('profile', m.profileId),
  enteredAt: iso(m.enteredAt) as string,
  version: m.enteredVersion,
});

async function viaStore(config: ReturnType<typeof configFrom>): Promise<AudienceOps> {
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  const { audiences } = app;
  /** What the scheduler would do next: recompute what was saved, deleted or asked for. */
  const job = () => runAudienceJob(app.storage);
  return {
    via: 'store',
    list: async () => (await audiences.list()).map(viewOf),
    get: async (key) => viewOf(await audiences.get(key)),
    versions: async (key) => (await audiences.versions(key)).length,
    async create(body) {
      const created = await audiences.create(body, AUTHOR);
      const summary = await job();
      return { audience: viewOf(await audiences.get(created.key)), via: 'store', job: summary };
    },
    async update(key, body) {
      await audiences.update(key, body, AUTHOR);
      const summary = await job();
      return { audience: viewOf(await audiences.get(key)), via: 'store', job: summary };
    },
    async remove(key) {
      const deleted = viewOf(await audiences.remove(key, AUTHOR));
      const summary = await job();
      return { audience: deleted, via: 'store', job: summary };
    },
    async preview(body) {
      const p = await audiences.preview(body);
      return { ...p, sample: p.sample.map((id) => toPublicId('profile', id)) };
    },
    async members(key, limit) {
      return (await audiences.members(key, { limit })).map(memberOf);
    },
    async eachMembers(key, onPage) {
      for (let after: string | undefined; ; ) {
        const page = await audiences.members(key, { limit: PAGE, after });
        onPage(page.map(memberOf));
        if (page.length < PAGE) return;
        after = page[page.length - 1].profileId;
      }
    },
    async recompute(key) {
      await audiences.requestRecompute(key);
      const summary = await job();
      return { audience: viewOf(await audiences.get(key)), via: 'store', job: summary };
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
async function withOps<T>(opts: Opts, fn: (ops: AudienceOps) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const api = await serverApi(config, 'tessera audiences');
  const ops = api ? viaServer(api) : await viaStore(config);
  try {
    return await fn(ops);
  } finally {
    await ops.close();
  }
}

/**
 * `--definition FILE|JSON`: inline JSON when it starts with `{`, else a file holding the JSON definition.
 * @throws Error naming the file (or the inline JSON) when it cannot be read or is not JSON.
 */
export function readDefinition(arg: string): unknown {
  return readJsonOption('--definition', arg);
}

/** A positive whole number option, or an error naming it. */
function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name}: expected a whole number ≥ 1, got "${raw}"`);
  return n;
}

/** One line per recomputation the audience job ran, then its re-checks. */
function jobLines(job: AudienceJobSummary): string[] {
  const lines = job.recomputed.map(
    (r) =>
      `recomputed ${r.key} (version ${r.version}): ${r.members} members, ${r.entered} entered, ${r.exited} exited ` +
      `(${r.ms} ms)`,
  );
  if (job.rechecked > 0)
    lines.push(
      `re-checked ${job.rechecked} profiles whose windows moved: ${job.entered} entered, ${job.exited} exited`,
    );
  if (lines.length === 0) lines.push('nothing to recompute');
  return lines;
}

const statusText = (a: View) => (a.status === 'ready' ? `ready (computed ${a.computedAt})` : 'computing');

/** `audiences list [--json]`: every audience as a table; JSON prints the API's items. */
export async function audiencesListCommand(opts: Opts): Promise<void> {
  const items = await withOps(opts, (ops) => ops.list());
  if (opts.json) return json(items);
  if (items.length === 0) return out('(no audiences)');
  out(
    table(
      ['KEY', 'NAME', 'MEMBERS', 'STATUS', 'SUMMARY'],
      items.map((a) => [a.key, a.name, String(a.members), a.status, a.summary.en]),
    ),
  );
}

/** `audiences show KEY [--json]`: the audience, its summary in English and French, how many versions it has. */
export async function audiencesShowCommand(key: string, opts: Opts): Promise<void> {
  const { audience: a, versions } = await withOps(opts, async (ops) => ({
    audience: await ops.get(key),
    versions: await ops.versions(key),
  }));
  if (opts.json) return json({ ...a, versions });
  const rows: [string, string][] = [
    ['key', a.key],
    ['name', a.name],
    ...(a.description === null ? [] : [['description', a.description] as [string, string]]),
    ['members', String(a.members)],
    ['status', statusText(a)],
    ['version', `${a.version} (${versions} version${versions === 1 ? '' : 's'} saved)`],
    ['summary (en)', a.summary.en],
    ['summary (fr)', a.summary.fr],
    ['definition', JSON.stringify(a.definition)],
    ['created', `${a.createdAt} by ${a.createdBy}`],
    ['updated', `${a.updatedAt} by ${a.updatedBy}`],
  ];
  out(rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n'));
}

/** The lines of a write's answer: what happened, then what the job did (store) or what the server will do. */
function writtenLines(verb: string, w: Written): string[] {
  const a = w.audience;
  const lines = [`${verb} ${a.key} (version ${a.version}): ${a.summary.en}`];
  if (w.job) lines.push(...jobLines(w.job));
  return lines;
}

/** `audiences create KEY --name NAME --definition FILE|JSON [--description D] [--json]`. */
export async function audiencesCreateCommand(
  key: string,
  opts: Opts & { name: string; definition: string; description?: string },
): Promise<void> {
  const definition = readDefinition(opts.definition);
  const body = {
    key,
    name: opts.name,
    definition,
    ...(opts.description === undefined ? {} : { description: opts.description }),
  };
  const w = await withOps(opts, (ops) => ops.create(body));
  if (opts.json) return json(w.audience);
  const lines = writtenLines('created', w);
  if (w.via === 'server') lines.push('the server recomputes its members within seconds (status: computing until then)');
  else lines.push(`${w.audience.members} members`);
  out(lines.join('\n'));
}

/** `audiences update KEY [--name N] [--definition FILE|JSON] [--description D]` (`""` removes the description). */
export async function audiencesUpdateCommand(
  key: string,
  opts: Opts & { name?: string; definition?: string; description?: string },
): Promise<void> {
  const body: Record<string, unknown> = {};
  if (opts.name !== undefined) body.name = opts.name;
  if (opts.description !== undefined) body.description = opts.description === '' ? null : opts.description;
  if (opts.definition !== undefined) body.definition = readDefinition(opts.definition);
  if (Object.keys(body).length === 0) throw new Error('audiences update needs --name, --description or --definition');
  const w = await withOps(opts, (ops) => ops.update(key, body));
  if (opts.json) return json(w.audience);
  const lines = writtenLines('updated', w);
  if (w.via === 'server' && body.definition !== undefined)
    lines.push('the server recomputes its members within seconds (status: computing until then)');
  else lines.push(`${w.audience.members} members`);
  out(lines.join('\n'));
}

/** `audiences delete KEY [--json]`: the last version, marked deleted; its members then leave it. */
export async function audiencesDeleteCommand(key: string, opts: Opts): Promise<void> {
  const w = await withOps(opts, (ops) => ops.remove(key));
  if (opts.json) return json(w.audience);
  const lines = writtenLines('deleted', w);
  if (w.via === 'server')
    lines.push(`the server closes its ${w.audience.members} members' stays within seconds, then frees the key`);
  out(lines.join('\n'));
}

/** `audiences preview --definition FILE|JSON [--exact] [--json]`: the sample's estimate, and the exact count. */
export async function audiencesPreviewCommand(opts: Opts & { definition: string; exact?: boolean }): Promise<void> {
  const body = { definition: readDefinition(opts.definition), ...(opts.exact ? { exact: true } : {}) };
  const p = await withOps(opts, (ops) => ops.preview(body));
  if (opts.json) return json(p);
  const e = p.estimate;
  const lines = [`summary:  ${p.summary.en}`];
  if (e.exact)
    lines.push(`estimate: ${e.count} members of ${e.profiles} profiles (every profile evaluated: exact, ${e.ms} ms)`);
  else
    lines.push(
      `estimate: ~${e.count} members of ${e.profiles} profiles, ${Math.round(e.confidence * 100)} % interval ` +
        `${e.low}–${e.high} (${e.matched} of ${e.sampled} sampled profiles matched, ${e.ms} ms)`,
    );
  if (p.exact) lines.push(`exact:    ${p.exact.count} members (${p.exact.ms} ms)`);
  out(lines.join('\n'));
}

/** `audiences members KEY [--limit N] [--csv] [--json]`: members by profile id; `--csv`: every member. */
export async function audiencesMembersCommand(
  key: string,
  opts: Opts & { csv?: boolean; limit?: string },
): Promise<void> {
  const limit = positive('--limit', opts.limit, 50);
  if (opts.csv) {
    // The API's CSV (`?format=csv`): the same header and lines, read a page at a time.
    await withOps(opts, async (ops) => {
      await ops.get(key);
      process.stdout.write(CSV_HEADER);
      await ops.eachMembers(key, (page) => {
        process.stdout.write(page.map((m) => `${m.profileId},${m.enteredAt},${m.version}\n`).join(''));
      });
    });
    return;
  }
  const { audience, members } = await withOps(opts, async (ops) => ({
    audience: await ops.get(key),
    members: await ops.members(key, limit),
  }));
  if (opts.json) return json(members);
  const lines =
    members.length === 0
      ? ['(no members)']
      : [
          table(
            ['PROFILE ID', 'ENTERED AT'],
            members.map((m) => [m.profileId, m.enteredAt]),
          ),
        ];
  if (members.length < audience.members)
    lines.push(`(${members.length} of ${audience.members} members: --limit N or --csv for more)`);
  out(lines.join('\n'));
}

/**
 * `audiences recompute KEY [--wait] [--json]`: asks for a full recomputation. A server's scheduler runs it within
 * seconds (`--wait`: until it has); with no server, the command runs the audience job itself and prints what it did.
 */
export async function audiencesRecomputeCommand(key: string, opts: Opts & { wait?: boolean }): Promise<void> {
  const w = await withOps(opts, (ops) =>
    ops.recompute(key, opts.wait === true, () => {
      if (!opts.json) process.stderr.write(`waiting for the server to recompute ${key}…\n`);
    }),
  );
  if (opts.json) return json(w);
  const a = w.audience;
  if (w.job) return out([...jobLines(w.job), `${a.key}: ${a.members} members`].join('\n'));
  out(
    w.waited
      ? `${a.key} recomputed at ${a.computedAt}: ${a.members} members`
      : `recomputation of ${a.key} asked; the server's scheduler runs it within seconds (--wait to wait for it)`,
  );
}

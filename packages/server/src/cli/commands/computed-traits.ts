import { fromPublicId, RFM_SEGMENTS, type RfmSettings } from '@tessera/protocol';
import pino from 'pino';
import { createApp } from '../../app.js';
import type { ComputedTraitDetails } from '../../audiences/computed-trait-service.js';
import { type AudienceJobSummary, runAudienceJob } from '../../audiences/recompute.js';
import { type CommonOptions, configFrom } from '../options.js';
import { fields, json, out, table } from '../output.js';
import { type ServerApi, serverApi } from '../server-or-store.js';
import { readDefinition } from './audiences.js';

/**
 * `tessera traits list | show | set | delete | values` and `tessera rfm show | set` (docs/audiences.md, "Computed
 * traits", "RFM"). When a server serves the data directory, every subcommand goes through its API
 * (`/v1/computed-traits…`, `/v1/profiles/…/computed-traits`, `/v1/settings/rfm`, `/v1/rfm`). Otherwise the command
 * opens the store itself (an app without its pipeline loop) and, since no scheduler runs then, a write runs the
 * scheduler's audience job (`runAudienceJob`) before answering: the audiences reading a changed trait (or an RFM
 * trait, after a run) are recomputed, as a server would do a second later.
 */

/** A computed trait as the API shows it (`ComputedTraitView`). */
interface TraitView {
  key: string;
  name: string;
  definition: unknown;
  summary: { en: string; fr: string };
  updatedAt: string;
  updatedBy: string;
}

/** A profile's computed traits now (`GET /v1/profiles/{id}/computed-traits`), and the profile asked. */
interface TraitValues {
  profileId: string;
  values: Record<string, unknown>;
  at: string;
}

/** `GET /v1/settings/rfm`, and the answer of `PUT` (with its run). */
interface RfmSettingsView {
  version: number;
  settings: RfmSettings | null;
  run?: { profiles: number; settingsVersion: number; ms: number } | null;
}

/** `GET /v1/rfm`. */
interface RfmSummaryView {
  configured: boolean;
  computedAt: string | null;
  settingsVersion: number | null;
  grid: { r: number; f: number; segment: string; profiles: number }[];
  segments: Record<string, number>;
}

/** A profile as the command line names it: a profile id, or an identifier. */
type ProfileRef = { id: string } | { type: string; value: string };

/** What a write did on the store: the audience job run after it (none through a server). */
interface Job {
  job?: AudienceJobSummary;
}

/** What the subcommands do, against the store or against a running server's API. */
interface TraitOps {
  readonly via: 'server' | 'store';
  list(): Promise<TraitView[]>;
  get(key: string): Promise<TraitView>;
  put(key: string, body: Record<string, unknown>): Promise<{ trait: TraitView } & Job>;
  remove(key: string): Promise<Job>;
  values(profile: ProfileRef): Promise<TraitValues>;
  rfmSettings(): Promise<RfmSettingsView>;
  rfmSummary(): Promise<RfmSummaryView>;
  rfmPut(body: Record<string, unknown>): Promise<{ settings: RfmSettingsView } & Job>;
  close(): Promise<void>;
}

type Opts = CommonOptions & { json?: boolean };

const AUTHOR = 'cli';

const iso = (ms: number) => new Date(ms).toISOString();

/** The API's view of a computed trait (`toView` of `http/routes/computed-traits.ts`), for answers from the store. */
const viewOf = (t: ComputedTraitDetails): TraitView => ({
  key: t.key,
  name: t.name,
  definition: t.definition,
  summary: t.summary,
  updatedAt: iso(t.updatedAt),
  updatedBy: t.updatedBy,
});

async function viaStore(config: ReturnType<typeof configFrom>): Promise<TraitOps> {
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  const { computedTraits, rfm } = app;
  /** What the scheduler would do next: recompute the audiences a write asked to. */
  const job = () => runAudienceJob(app.storage);
  return {
    via: 'store',
    list: async () => (await computedTraits.list()).map(viewOf),
    get: async (key) => viewOf(await computedTraits.get(key)),
    async put(key, body) {
      const trait = viewOf(await computedTraits.put(key, body, AUTHOR));
      return { trait, job: await job() };
    },
    async remove(key) {
      await computedTraits.remove(key, AUTHOR);
      return { job: await job() };
    },
    async values(profile) {
      // As `GET /v1/profiles/by/{type}/{value}`: the profile holding the identifier (its survivor's view).
      const profileId =
        'id' in profile ? profile.id : (await app.profiles.byIdentifier(profile.type, profile.value)).id;
      const at = Date.now();
      const values = await computedTraits.values(fromPublicId('profile', profileId) as string, at);
      return { profileId, values, at: iso(at) };
    },
    rfmSettings: () => rfm.settings(),
    async rfmSummary() {
      const s = await rfm.summary();
      return { ...s, computedAt: s.computedAt === null ? null : iso(s.computedAt) };
    },
    async rfmPut(body) {
      const settings = await rfm.put(body, AUTHOR);
      return { settings, job: await job() };
    },
    close: () => app.close(),
  };
}

function viaServer(api: ServerApi): TraitOps {
  const path = (key: string) => `/v1/computed-traits/${encodeURIComponent(key)}`;
  // `ServerApi.request` passes any method through to the server; its type names the audiences' methods only.
  const put = <T>(p: string, body: unknown) =>
    (api.request as <U>(method: string, path: string, body?: unknown) => Promise<U>)<T>('PUT', p, body);
  return {
    via: 'server',
    list: async () => (await api.request<{ items: TraitView[] }>('GET', '/v1/computed-traits')).items,
    get: (key) => api.request<TraitView>('GET', path(key)),
    put: async (key, body) => ({ trait: await put<TraitView>(path(key), body) }),
    async remove(key) {
      await api.request('DELETE', path(key));
      return {};
    },
    async values(profile) {
      const profileId =
        'id' in profile
          ? profile.id
          : (
              await api.request<{ id: string }>(
                'GET',
                `/v1/profiles/by/${encodeURIComponent(profile.type)}/${encodeURIComponent(profile.value)}`,
              )
            ).id;
      const answer = await api.request<{ values: Record<string, unknown>; at: string }>(
        'GET',
        `/v1/profiles/${encodeURIComponent(profileId)}/computed-traits`,
      );
      return { profileId, ...answer };
    },
    rfmSettings: () => api.request<RfmSettingsView>('GET', '/v1/settings/rfm'),
    rfmSummary: () => api.request<RfmSummaryView>('GET', '/v1/rfm'),
    rfmPut: async (body) => ({ settings: await put<RfmSettingsView>('/v1/settings/rfm', body) }),
    close: async () => {},
  };
}

/** Runs `fn` with the operations of the server serving the data directory, or of the store. */
async function withOps<T>(opts: Opts, purpose: string, fn: (ops: TraitOps) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const api = await serverApi(config, purpose);
  const ops = api ? viaServer(api) : await viaStore(config);
  try {
    return await fn(ops);
  } finally {
    await ops.close();
  }
}

/** One line per audience the job recomputed after a write (none when it recomputed nothing). */
function jobLines(job: AudienceJobSummary | undefined): string[] {
  return (job?.recomputed ?? []).map(
    (r) =>
      `recomputed audience ${r.key} (version ${r.version}): ${r.members} members, ${r.entered} entered, ` +
      `${r.exited} exited (${r.ms} ms)`,
  );
}

/**
 * `PROFILE`: a profile id (`prof_…`), or `TYPE:VALUE` — an identifier (`user_id:u1`, `email:a@b.c`), found as
 * `GET /v1/profiles/by/{type}/{value}` finds it.
 * @throws Error naming PROFILE when it is neither.
 */
export function parseProfileRef(arg: string): ProfileRef {
  if (arg.startsWith('prof_')) {
    if (fromPublicId('profile', arg) === undefined) throw new Error(`PROFILE: "${arg}" is not a profile id`);
    return { id: arg };
  }
  const colon = arg.indexOf(':');
  if (colon <= 0 || colon === arg.length - 1)
    throw new Error(`PROFILE: expected a profile id (prof_…) or TYPE:VALUE (e.g. user_id:u1), got "${arg}"`);
  return { type: arg.slice(0, colon), value: arg.slice(colon + 1) };
}

/** `traits list [--json]`: every computed trait as a table; JSON prints the API's items. */
export async function traitsListCommand(opts: Opts): Promise<void> {
  const items = await withOps(opts, 'tessera traits', (ops) => ops.list());
  if (opts.json) return json(items);
  if (items.length === 0) return out('(no computed traits)');
  out(
    table(
      ['KEY', 'NAME', 'SUMMARY'],
      items.map((t) => [t.key, t.name, t.summary.en]),
    ),
  );
}

/** `traits show KEY [--json]`: the trait, its summary in English and French, its definition. */
export async function traitsShowCommand(key: string, opts: Opts): Promise<void> {
  const t = await withOps(opts, 'tessera traits', (ops) => ops.get(key));
  if (opts.json) return json(t);
  out(
    fields([
      ['key', t.key],
      ['name', t.name],
      ['summary (en)', t.summary.en],
      ['summary (fr)', t.summary.fr],
      ['definition', JSON.stringify(t.definition)],
      ['updated', `${t.updatedAt} by ${t.updatedBy}`],
    ]),
  );
}

/** `traits set KEY --name NAME --definition FILE|JSON [--json]`: creates the trait, or replaces it. */
export async function traitsSetCommand(key: string, opts: Opts & { name: string; definition: string }): Promise<void> {
  const body = { name: opts.name, definition: readDefinition(opts.definition) };
  const w = await withOps(opts, 'tessera traits', (ops) => ops.put(key, body));
  if (opts.json) return json(w.trait);
  out([`saved ${w.trait.key} (${w.trait.name}): ${w.trait.summary.en}`, ...jobLines(w.job)].join('\n'));
}

/** `traits delete KEY [--json]`: refused while an audience reads the trait. */
export async function traitsDeleteCommand(key: string, opts: Opts): Promise<void> {
  const w = await withOps(opts, 'tessera traits', (ops) => ops.remove(key));
  if (opts.json) return json({ deleted: key });
  out([`deleted ${key}`, ...jobLines(w.job)].join('\n'));
}

/** A value as one table cell: strings as they are, the rest as JSON. */
const cell = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `traits values PROFILE [--json]`: every computed trait's value now (a missing one is left out), RFM's too. */
export async function traitsValuesCommand(profile: string, opts: Opts): Promise<void> {
  const ref = parseProfileRef(profile);
  const v = await withOps(opts, 'tessera traits', (ops) => ops.values(ref));
  if (opts.json) return json(v);
  const keys = Object.keys(v.values).sort();
  const lines = [`${v.profileId} at ${v.at}`];
  if (keys.length === 0) lines.push('(no values)');
  else
    lines.push(
      table(
        ['KEY', 'VALUE'],
        keys.map((k) => [k, cell(v.values[k])]),
      ),
    );
  out(lines.join('\n'));
}

/** The settings in a sentence. */
function settingsText(s: RfmSettingsView): string {
  if (s.settings === null) return 'not configured (tessera rfm set --event NAME --amount PROPERTY)';
  const { event, amountProperty, windowDays } = s.settings;
  const span = windowDays === undefined ? 'every purchase' : `purchases of the last ${windowDays} days`;
  return `event "${event}", amount "${amountProperty}", ${span} (version ${s.version})`;
}

/** The profiles per (R, F) cell: rows R = 5 down to 1, columns F = 1 to 5, as docs/audiences.md draws the grid. */
function gridText(grid: RfmSummaryView['grid']): string {
  const count = (r: number, f: number) => grid.find((c) => c.r === r && c.f === f)?.profiles ?? 0;
  const rows = [5, 4, 3, 2, 1].map((r) => [String(r), ...[1, 2, 3, 4, 5].map((f) => String(count(r, f)))]);
  const header = ['R \\ F', '1', '2', '3', '4', '5'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** `rfm show [--json]`: the settings, the last run, the profiles per segment and per (R, F) cell. */
export async function rfmShowCommand(opts: Opts): Promise<void> {
  const { settings, summary } = await withOps(opts, 'tessera rfm', async (ops) => ({
    settings: await ops.rfmSettings(),
    summary: await ops.rfmSummary(),
  }));
  if (opts.json) return json({ settings, summary });
  const lines = [fields([['settings', settingsText(settings)]])];
  if (summary.computedAt === null) {
    lines.push(fields([['last run', 'none yet']]));
    return out(lines.join('\n'));
  }
  const scored = Object.values(summary.segments).reduce((a, b) => a + b, 0);
  lines.push(
    fields([
      ['last run', `${summary.computedAt} (settings version ${summary.settingsVersion}): ${scored} profiles scored`],
    ]),
    '',
    table(
      ['SEGMENT', 'PROFILES'],
      RFM_SEGMENTS.map((s) => [s, String(summary.segments[s] ?? 0)]),
    ),
    '',
    gridText(summary.grid),
  );
  out(lines.join('\n'));
}

/** `rfm set --event NAME --amount PROPERTY [--window-days N] [--json]`: saves the settings and scores every profile. */
export async function rfmSetCommand(
  opts: Opts & { event: string; amount: string; windowDays?: string },
): Promise<void> {
  const body: Record<string, unknown> = { event: opts.event, amountProperty: opts.amount };
  if (opts.windowDays !== undefined) {
    if (!/^\d+$/.test(opts.windowDays.trim()))
      throw new Error(`--window-days: expected a whole number of days, got "${opts.windowDays}"`);
    body.windowDays = Number(opts.windowDays);
  }
  const w = await withOps(opts, 'tessera rfm', (ops) => ops.rfmPut(body));
  if (opts.json) return json(w.settings);
  const run = w.settings.run;
  out(
    [
      `saved RFM settings: ${settingsText(w.settings)}`,
      run ? `scored ${run.profiles} profiles (${run.ms} ms)` : 'no run',
      ...jobLines(w.job),
    ].join('\n'),
  );
}

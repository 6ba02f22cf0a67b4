import type { AudienceJobSummary } from '../../audiences/recompute.js';
import type { CommonOptions } from '../options.js';
import { json, out, readJsonOption, table } from '../output.js';
import { type View, type Written, withOps } from './audience-ops.js';

/**
 * `tessera audiences list | show | create | update | delete | preview | members | recompute` (DESIGN §6, §9,
 * docs/audiences.md). When a server serves the data directory, every subcommand goes through its API
 * (`/v1/audiences…`). Otherwise the command opens the store itself (an app without its pipeline loop) and, since no
 * scheduler runs then, a write (create, update, delete, recompute) runs the scheduler's audience job
 * (`runAudienceJob`) before answering, so the store is left as a server would leave it a second later
 * (`audience-ops.ts`).
 */

type Opts = CommonOptions & { json?: boolean };

const CSV_HEADER = 'profile_id,entered_at,version\n';

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

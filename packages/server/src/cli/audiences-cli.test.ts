import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT, failure, type Json, jsonLine, MAIN, type Run, tessera } from '../test/cli-run.js';
import { freePort } from '../test/processes.js';
import { startServe, type TesseraProcess } from '../test/tessera-process.js';

if (!BUILT) console.warn(`[audiences-cli.test] skipped: ${MAIN} is missing; run \`npm run build\` first`);

const DEMO_KEYS = ['high-value', 'lapsed-customers', 'newsletter-consent', 'repeat-buyers', 'rfm-champions'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Big spenders among the repeat buyers: an `audience` condition, an aggregate and an absolute-free window. */
const BIG_REPEAT = {
  type: 'and',
  conditions: [
    { type: 'audience', key: 'repeat-buyers' },
    {
      type: 'event',
      name: 'Order Completed',
      aggregate: { fn: 'sum', property: 'total', compare: { op: 'gte', value: 150 } },
      window: { last: 90, unit: 'days' },
    },
  ],
};

describe.runIf(BUILT)('tessera audiences (built CLI, child processes)', () => {
  let tmp: string;
  let dataDir: string;
  let server: TesseraProcess | undefined;
  const data = () => ['--data', dataDir];
  let demoUsers: { role: string; email: string; password: string }[] = [];

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-audiences-cli-'));
    dataDir = path.join(tmp, 'data');
  });

  afterAll(async () => {
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('demo --exit: loads the data set, saves its audiences (each with members) and its two webhook destinations', async () => {
    const port = await freePort();
    const run = await tessera(['demo', '--exit', '--json', '--port', String(port), ...data()], 120_000);
    const printed = jsonLine(run);
    expect(Object.keys(printed).sort()).toEqual(['adminToken', 'storefrontUrl', 'url', 'users', 'writeKey']);
    demoUsers = printed.users;
    expect(demoUsers.map((u) => u.role)).toEqual(['admin', 'marketer', 'analyst', 'dpo']);

    // Its two webhook destinations: the healthy one delivered, the failing one's receiver refused (dead letters).
    const destinations = jsonLine(await tessera(['destinations', 'list', '--json', ...data()]));
    const byName = Object.fromEntries(destinations.map((d: Json) => [d.name, d.counts]));
    expect(byName['Demo webhook (healthy)']).toMatchObject({ pending: 0, dead: 0 });
    expect(byName['Demo webhook (healthy)'].delivered).toBeGreaterThan(0);
    expect(byName['Demo webhook (failing)']).toMatchObject({ pending: 0, delivered: 0 });
    expect(byName['Demo webhook (failing)'].dead).toBeGreaterThan(0);

    const list = jsonLine(await tessera(['audiences', 'list', '--json', ...data()]));
    expect(list.map((a: { key: string }) => a.key)).toEqual(DEMO_KEYS);
    for (const a of list) {
      expect(a.status, a.key).toBe('ready');
      expect(a.members, a.key).toBeGreaterThan(0);
      expect(a.createdBy).toBe('tessera demo');
    }
    // Every demo audience holds exactly what the preview counts now.
    for (const a of list) {
      const p = jsonLine(
        await tessera([
          'audiences',
          'preview',
          '--exact',
          '--json',
          '--definition',
          JSON.stringify(a.definition),
          ...data(),
        ]),
      );
      expect(p.exact.count, a.key).toBe(a.members);
    }
  }, 300_000);

  it('list and show on the store (no server): a table, and both summaries', async () => {
    const text = await tessera(['audiences', 'list', ...data()]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KEY\s+NAME\s+MEMBERS\s+STATUS\s+SUMMARY$/);
    expect(lines).toHaveLength(1 + DEMO_KEYS.length);
    expect(lines.find((l) => l.startsWith('repeat-buyers'))).toMatch(
      /^repeat-buyers\s+Repeat buyers\s+\d+\s+ready\s+at least 2 × Order Completed in the last 90 days$/,
    );

    const shown = jsonLine(await tessera(['audiences', 'show', 'lapsed-customers', '--json', ...data()]));
    expect(shown).toMatchObject({ key: 'lapsed-customers', name: 'Lapsed customers', version: 1, versions: 1 });
    expect(shown.summary.en).toBe('did Order Completed and not (did Order Completed in the last 60 days)');
    expect(shown.summary.fr).toContain('Order Completed');
    const showText = await tessera(['audiences', 'show', 'lapsed-customers', ...data()]);
    expect(showText.stdout).toContain(`summary (en): ${shown.summary.en}`);
    expect(showText.stdout).toContain(`summary (fr): ${shown.summary.fr}`);
    expect(showText.stdout).toMatch(/version:\s+1 \(1 version saved\)/);
  }, 180_000);

  it('create, preview, members, update, recompute and delete on the store (no server)', async () => {
    const file = path.join(tmp, 'big-repeat.json');
    writeFileSync(file, JSON.stringify(BIG_REPEAT));
    const preview = jsonLine(
      await tessera(['audiences', 'preview', '--definition', file, '--exact', '--json', ...data()]),
    );
    expect(preview.exact.count).toBeGreaterThan(0);
    expect(preview.estimate.low).toBeLessThanOrEqual(preview.estimate.count);
    expect(preview.estimate.high).toBeGreaterThanOrEqual(preview.estimate.count);
    const previewText = await tessera(['audiences', 'preview', '--definition', file, '--exact', ...data()]);
    expect(previewText.stdout).toMatch(/^summary: {2}in audience repeat-buyers and sum of total ≥ 150/);
    expect(previewText.stdout).toMatch(/\nestimate: .*\d+ members of \d+ profiles/);
    expect(previewText.stdout).toContain(`\nexact:    ${preview.exact.count} members (`);

    // No scheduler runs: the command runs the audience job, so the members are there when it answers.
    const created = jsonLine(
      await tessera([
        'audiences',
        'create',
        'big-repeat',
        '--name',
        'Big repeat buyers',
        '--definition',
        file,
        '--description',
        'spent 150 € or more',
        '--json',
        ...data(),
      ]),
    );
    expect(created).toMatchObject({ key: 'big-repeat', version: 1, status: 'ready', createdBy: 'cli' });
    expect(created.members).toBe(preview.exact.count);

    const members = jsonLine(
      await tessera(['audiences', 'members', 'big-repeat', '--limit', '2', '--json', ...data()]),
    );
    expect(members).toHaveLength(2);
    expect(members[0]).toMatchObject({ profileId: expect.stringMatching(/^prof_/), version: 1 });
    const membersText = await tessera(['audiences', 'members', 'big-repeat', '--limit', '2', ...data()]);
    expect(membersText.stdout).toContain(`${members[0].profileId}  ${members[0].enteredAt}`);
    expect(membersText.stdout).toContain(`(2 of ${created.members} members`);
    const csv = await tessera(['audiences', 'members', 'big-repeat', '--csv', ...data()]);
    const rows = csv.stdout.trimEnd().split('\n');
    expect(rows[0]).toBe('profile_id,entered_at,version');
    expect(rows).toHaveLength(created.members + 1);
    expect(rows[1]).toBe(`${members[0].profileId},${members[0].enteredAt},1`);

    const updated = await tessera([
      'audiences',
      'update',
      'big-repeat',
      '--name',
      'Bigger repeat buyers',
      '--definition',
      JSON.stringify({ ...BIG_REPEAT, conditions: [BIG_REPEAT.conditions[0]] }),
      ...data(),
    ]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/^updated big-repeat \(version 2\): in audience repeat-buyers\n/);
    expect(updated.stdout).toMatch(/\nrecomputed big-repeat \(version 2\): \d+ members, \d+ entered, 0 exited/);
    const repeat = jsonLine(await tessera(['audiences', 'show', 'repeat-buyers', '--json', ...data()]));
    const shown = jsonLine(await tessera(['audiences', 'show', 'big-repeat', '--json', ...data()]));
    expect(shown).toMatchObject({ name: 'Bigger repeat buyers', version: 2, versions: 2, members: repeat.members });

    const recomputed = jsonLine(await tessera(['audiences', 'recompute', 'big-repeat', '--json', ...data()]));
    expect(recomputed.via).toBe('store');
    expect(recomputed.job.recomputed).toEqual([
      expect.objectContaining({ key: 'big-repeat', version: 2, entered: 0, exited: 0 }),
    ]);
    const recomputeText = await tessera(['audiences', 'recompute', 'big-repeat', ...data()]);
    expect(recomputeText.stdout).toBe(
      `recomputed big-repeat (version 2): ${repeat.members} members, 0 entered, 0 exited (${/\((\d+) ms\)/.exec(recomputeText.stdout)?.[1]} ms)\nbig-repeat: ${repeat.members} members\n`,
    );

    // repeat-buyers is named by big-repeat: refused until that one goes.
    expect(failure(await tessera(['audiences', 'delete', 'repeat-buyers', ...data()]))).toContain(
      'is named by "big-repeat"',
    );
    const deleted = await tessera(['audiences', 'delete', 'big-repeat', ...data()]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(
      `recomputed big-repeat (version 3): 0 members, 0 entered, ${repeat.members} exited`,
    );
    // Its two webhook destinations: the healthy one delivered, the failing one's receiver refused (dead letters).
    const destinations = jsonLine(await tessera(['destinations', 'list', '--json', ...data()]));
    const byName = Object.fromEntries(destinations.map((d: Json) => [d.name, d.counts]));
    expect(byName['Demo webhook (healthy)']).toMatchObject({ pending: 0, dead: 0 });
    expect(byName['Demo webhook (healthy)'].delivered).toBeGreaterThan(0);
    expect(byName['Demo webhook (failing)']).toMatchObject({ pending: 0, delivered: 0 });
    expect(byName['Demo webhook (failing)'].dead).toBeGreaterThan(0);

    const list = jsonLine(await tessera(['audiences', 'list', '--json', ...data()]));
    expect(list.map((a: { key: string }) => a.key)).toEqual(DEMO_KEYS);
  }, 300_000);

  it('bad input exits 1 with a message naming the file or the field', async () => {
    const missing = path.join(tmp, 'no-such-definition.json');
    const err1 = failure(await tessera(['audiences', 'preview', '--definition', missing, ...data()]));
    expect(err1).toContain(missing);
    expect(err1).toContain('no such file');

    const notJson = path.join(tmp, 'not-json.json');
    writeFileSync(notJson, '{ "type": "event", ');
    const err2 = failure(
      await tessera(['audiences', 'create', 'x', '--name', 'X', '--definition', notJson, ...data()]),
    );
    expect(err2).toContain(notJson);
    expect(err2).toContain('not valid JSON');
    expect(failure(await tessera(['audiences', 'preview', '--definition', '{"type":', ...data()]))).toContain(
      '--definition (inline JSON): not valid JSON',
    );

    const tooLong = JSON.stringify({ type: 'event', name: 'Order Completed', window: { last: 5000, unit: 'days' } });
    const err3 = failure(
      await tessera(['audiences', 'create', 'x', '--name', 'X', '--definition', tooLong, ...data()]),
    );
    expect(err3).toContain('invalid audience: definition.window.last: at most 3650 days');
    expect(
      failure(
        await tessera([
          'audiences',
          'create',
          'bad key',
          '--name',
          'X',
          '--definition',
          '{"type":"consent","purpose":"p","state":"granted"}',
          ...data(),
        ]),
      ),
    ).toContain('key');
    expect(failure(await tessera(['audiences', 'show', 'nope', ...data()]))).toContain('no audience "nope"');
    expect(failure(await tessera(['audiences', 'members', 'nope', '--csv', ...data()]))).toContain(
      'no audience "nope"',
    );
    expect(failure(await tessera(['audiences', 'members', 'high-value', '--limit', '0', ...data()]))).toContain(
      '--limit',
    );
    expect(failure(await tessera(['audiences', 'update', 'high-value', ...data()]))).toContain('needs --name');
    // Nothing was saved by the refused commands.
    expect(
      jsonLine(await tessera(['audiences', 'list', '--json', ...data()])).map((a: { key: string }) => a.key),
    ).toEqual(DEMO_KEYS);
  }, 180_000);

  it('with tessera serve running: through its API (create, list, preview, recompute --wait, members, delete)', async () => {
    const s = await startServe(dataDir, 20000);
    server = s;

    // The demo's users sign in; the marketer sees the demo people's e-mails masked, the DPO in clear.
    const seen: Record<string, string> = {};
    for (const role of ['marketer', 'dpo']) {
      const u = demoUsers.find((x) => x.role === role) as { email: string; password: string };
      const signIn = await fetch(`${s.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: u.password }),
      });
      expect(signIn.status).toBe(201);
      const cookie = String(signIn.headers.get('set-cookie')).split(';')[0];
      const found = await fetch(`${s.url}/v1/profiles?q=@&limit=1`, { headers: { cookie } });
      seen[role] = ((await found.json()) as Json).items[0].traits.email;
    }
    expect(seen.dpo).toMatch(/^[^*]+@[^*]+$/);
    expect(seen.marketer).toBe(`${seen.dpo[0]}***@***${seen.dpo.slice(seen.dpo.lastIndexOf('.'))}`);

    const definition = JSON.stringify(BIG_REPEAT);
    const preview = jsonLine(
      await tessera(['audiences', 'preview', '--definition', definition, '--exact', '--json', ...data()]),
    );
    expect(preview.exact.count).toBeGreaterThan(0);
    expect(preview.sample[0]).toMatch(/^prof_/);

    const created = await tessera([
      'audiences',
      'create',
      'live-big',
      '--name',
      'Live big buyers',
      '--definition',
      definition,
      ...data(),
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe(
      'created live-big (version 1): in audience repeat-buyers and sum of total ≥ 150 over Order Completed in the last 90 days\n' +
        'the server recomputes its members within seconds (status: computing until then)\n',
    );
    // Saved by the server: the author is the token the CLI minted for itself.
    const shown = jsonLine(await tessera(['audiences', 'show', 'live-big', '--json', ...data()]));
    expect(shown.createdBy).toMatch(/^tok_/);

    const waited = jsonLine(await tessera(['audiences', 'recompute', 'live-big', '--wait', '--json', ...data()]));
    expect(waited).toMatchObject({ via: 'server', waited: true, audience: { key: 'live-big', status: 'ready' } });
    expect(waited.audience.members).toBe(preview.exact.count);

    const list = jsonLine(await tessera(['audiences', 'list', '--json', ...data()]));
    expect(list.map((a: { key: string }) => a.key)).toEqual([
      ...DEMO_KEYS.slice(0, 2),
      'live-big',
      ...DEMO_KEYS.slice(2),
    ]);
    const listText = await tessera(['audiences', 'list', ...data()]);
    expect(listText.stdout).toMatch(
      new RegExp(`\\nlive-big\\s+Live big buyers\\s+${preview.exact.count}\\s+ready\\s+in audience`),
    );

    const csv = await tessera(['audiences', 'members', 'live-big', '--csv', ...data()]);
    expect(csv.stdout.trimEnd().split('\n')).toHaveLength(preview.exact.count + 1);
    const page = jsonLine(await tessera(['audiences', 'members', 'live-big', '--limit', '1', '--json', ...data()]));
    expect(csv.stdout.split('\n')[1]).toBe(`${page[0].profileId},${page[0].enteredAt},1`);

    // The API's 400 names the field; the command exits 1 with it.
    const tooLong = JSON.stringify({ type: 'event', name: 'Order Completed', window: { last: 5000, unit: 'days' } });
    const err = failure(await tessera(['audiences', 'preview', '--definition', tooLong, ...data()]));
    expect(err).toContain(s.url);
    expect(err).toContain('invalid audience: definition.window.last');
    expect(
      failure(
        await tessera(['audiences', 'create', 'live-big', '--name', 'again', '--definition', definition, ...data()]),
      ),
    ).toContain('exists already');

    const deleted = jsonLine(await tessera(['audiences', 'delete', 'live-big', '--json', ...data()]));
    expect(deleted).toMatchObject({ key: 'live-big', version: 2 });
    expect(
      jsonLine(await tessera(['audiences', 'list', '--json', ...data()])).map((a: { key: string }) => a.key),
    ).toEqual(DEMO_KEYS);
    // The server's scheduler closes the stays and frees the key within seconds: then it can be saved again.
    const until = Date.now() + 15_000;
    let again: Run;
    do {
      await sleep(250);
      again = await tessera([
        'audiences',
        'create',
        'live-big',
        '--name',
        'again',
        '--definition',
        definition,
        ...data(),
      ]);
    } while (again.code !== 0 && again.stderr.includes('is being deleted') && Date.now() < until);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^created live-big \(version 3\)/);
  }, 300_000);
});

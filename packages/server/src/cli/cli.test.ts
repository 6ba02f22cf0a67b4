/**
 * The BUILT `tessera` CLI as a child process on a temporary data directory: `init`, `sources`, `migrate`, `import`
 * of the documented examples (docs/mapping.md), then `serve` and the HTTP API to check what the imports produced.
 *
 * Needs `npm run build`. Without `dist/cli/main.js` it fails under CI and is skipped with a printed reason otherwise.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedEnv } from '../test/processes.js';
import { sharedDataDir } from '../test/shared-data.js';
import { startServe, type TesseraProcess } from '../test/tessera-process.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BIN = path.join(REPO_ROOT, 'packages', 'server', 'bin', 'tessera.js');
const MAIN = path.join(REPO_ROOT, 'packages', 'server', 'dist', 'cli', 'main.js');
const EXAMPLES = path.join(REPO_ROOT, 'examples');

const BUILT = existsSync(MAIN);
const IN_CI = ['1', 'true', 'yes'].includes((process.env.CI ?? '').toLowerCase());

if (!BUILT && !IN_CI) console.warn(`[cli.test] skipped: ${MAIN} is missing; run \`npm run build\` first`);

describe.runIf(!BUILT && IN_CI)('cli prerequisites', () => {
  it('has a built server', () => {
    expect.fail(`${MAIN} is missing: CI must build the server (npm run build) before the CLI tests`);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked by the assertions
type Json = any;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tessera ARGS` from the repository root and answers its exit code and output, whatever the code. */
function tessera(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO_ROOT, env: embeddedEnv(), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The single JSON line a `--json` command prints: anything else on stdout fails. */
function jsonLine(run: Run): Json {
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout.endsWith('\n'), `stdout ends with a newline: ${JSON.stringify(run.stdout)}`).toBe(true);
  const lines = run.stdout.split('\n').slice(0, -1);
  expect(lines, `exactly one line on stdout: ${run.stdout}`).toHaveLength(1);
  return JSON.parse(lines[0]);
}

/** The `line N: …` reports on stderr, in order. */
function lineReports(stderr: string): { line: number; text: string }[] {
  return stderr
    .split('\n')
    .map((l) => /^line (\d+): (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ line: Number(m[1]), text: m[2] }));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.runIf(BUILT)('tessera CLI (built, child processes)', () => {
  let tmp: string;
  let dataDir: string;
  let adminToken: string;
  let defaultKey: string;
  let shop: { id: string; writeKey: string; oldKey: string };
  let server: TesseraProcess | undefined;

  const api = async (url: string, init: RequestInit = {}) => {
    if (!server) throw new Error('server not started');
    const res = await fetch(`${server.url}${url}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string>) },
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-cli-'));
    dataDir = path.join(tmp, 'data');
  });

  afterAll(async () => {
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('init --json prints exactly one JSON line {writeKey, adminToken}', async () => {
    const out = jsonLine(await tessera(['init', '--data', dataDir, '--json']));
    expect(Object.keys(out).sort()).toEqual(['adminToken', 'writeKey']);
    expect(out.writeKey).toMatch(/^wk_[A-Za-z0-9_-]{20,}$/);
    expect(out.adminToken).toMatch(/^tk_[A-Za-z0-9_-]{20,}$/);
    expect(existsSync(dataDir)).toBe(true);
    adminToken = out.adminToken;
    defaultKey = out.writeKey;
  });

  it('sources create / list / rotate-key --json', async () => {
    const created = jsonLine(await tessera(['sources', 'create', 'shop', '--data', dataDir, '--json']));
    expect(created).toMatchObject({ name: 'shop', kind: 'tracking', mapping: null });
    expect(created.id).toMatch(/^src_/);
    expect(created.writeKey).toMatch(/^wk_/);
    expect(created.writeKey).not.toBe(defaultKey);

    const list = jsonLine(await tessera(['sources', 'list', '--data', dataDir, '--json']));
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((s: { name: string }) => s.name).sort()).toEqual(['default', 'shop']);
    expect(list.find((s: { name: string }) => s.name === 'shop')).toMatchObject({ id: created.id, kind: 'tracking' });
    // Keys are shown once: never in a list.
    for (const s of list) {
      expect(s).not.toHaveProperty('writeKey');
      expect(JSON.stringify(s)).not.toContain(created.writeKey);
    }

    const rotated = jsonLine(await tessera(['sources', 'rotate-key', 'shop', '--data', dataDir, '--json']));
    expect(rotated).toMatchObject({ id: created.id, name: 'shop' });
    expect(rotated.writeKey).toMatch(/^wk_/);
    expect(rotated.writeKey).not.toBe(created.writeKey);
    // Both keys are checked against the server below.
    shop = { id: created.id, writeKey: rotated.writeKey, oldKey: created.writeKey };
  });

  it('sources with an unknown action or no name exits 1', async () => {
    const unknown = await tessera(['sources', 'drop', 'shop', '--data', dataDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown action "drop"');
    const noName = await tessera(['sources', 'create', '--data', dataDir]);
    expect(noName.code).toBe(1);
    expect(noName.stderr).toContain('needs a NAME');
  });

  it('migrate --json: the schema is up to date after init', async () => {
    expect(jsonLine(await tessera(['migrate', '--data', dataDir, '--json']))).toEqual({ applied: [] });
    const text = await tessera(['migrate', '--data', dataDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('schema is up to date\n');
  });

  const crm = ['examples/crm-export.csv', '--source', 'crm', '--mapping', 'examples/crm-mapping.json', '--json'];

  it('import crm-export.csv: six rows imported, line 8 reported on stderr, exit 0', async () => {
    const run = await tessera(['import', ...crm, '--data', dataDir]);
    const summary = jsonLine(run);
    expect(summary).toEqual({
      file: path.join(EXAMPLES, 'crm-export.csv'),
      read: 7,
      accepted: 6,
      duplicates: 0,
      bad: 1,
      quarantined: 0,
      via: 'store',
    });
    // docs/mapping.md: line 8 lost its mobile number cell (6 fields instead of 7).
    expect(lineReports(run.stderr)).toEqual([{ line: 8, text: 'expected 7 fields (one per header column), got 6' }]);
    // Reports never carry the row's data.
    expect(run.stderr).not.toContain('thomas.petit');
  });

  it('import crm-export.csv again: nothing new (all duplicates)', async () => {
    const run = await tessera(['import', ...crm, '--data', dataDir]);
    expect(jsonLine(run)).toMatchObject({ read: 7, accepted: 0, duplicates: 6, bad: 1, quarantined: 0 });
    expect(lineReports(run.stderr).map((r) => r.line)).toEqual([8]);
  });

  it('import orders.csv into shop: five orders, line 6 reported', async () => {
    const run = await tessera([
      'import',
      'examples/orders.csv',
      '--source',
      'shop',
      '--mapping',
      'examples/orders-mapping.json',
      '--json',
      '--data',
      dataDir,
    ]);
    expect(jsonLine(run)).toEqual({
      file: path.join(EXAMPLES, 'orders.csv'),
      read: 6,
      accepted: 5,
      duplicates: 0,
      bad: 1,
      quarantined: 0,
      via: 'store',
    });
    const reports = lineReports(run.stderr);
    expect(reports.map((r) => r.line)).toEqual([6]);
    expect(reports[0].text).toMatch(/^properties\.total: .*not a number/);
    expect(reports[0].text).not.toContain('about 40');
  });

  it('a bad mapping file: exit 1, naming the mapping file and the field', async () => {
    const bad = path.join(tmp, 'bad-mapping.json');
    writeFileSync(
      bad,
      JSON.stringify({
        type: 'track',
        event: { const: 'Order Completed' },
        identifiers: { email: 'Email' },
        properties: { total: { from: 'Total', type: 'money' } },
      }),
    );
    const run = await tessera([
      'import',
      'examples/orders.csv',
      '--source',
      'shop',
      '--mapping',
      bad,
      '--data',
      dataDir,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(bad);
    expect(run.stderr).toContain('properties.total.type');

    const noEvent = path.join(tmp, 'no-event.json');
    writeFileSync(noEvent, JSON.stringify({ type: 'track', identifiers: { email: 'Email' } }));
    const run2 = await tessera([
      'import',
      'examples/orders.csv',
      '--source',
      'shop',
      '--mapping',
      noEvent,
      '--data',
      dataDir,
    ]);
    expect(run2.code).toBe(1);
    expect(run2.stderr).toContain(noEvent);
    expect(run2.stderr).toMatch(/\bevent\b.*required/);

    const notJson = path.join(tmp, 'not-json.json');
    writeFileSync(notJson, '{ "type": "identify", ');
    const run3 = await tessera([
      'import',
      'examples/crm-export.csv',
      '--source',
      'crm',
      '--mapping',
      notJson,
      '--data',
      dataDir,
    ]);
    expect(run3.code).toBe(1);
    expect(run3.stderr).toContain(notJson);
  });

  it('a missing file: exit 1 with a clear message naming it', async () => {
    const missing = path.join(tmp, 'no-such-export.csv');
    const run = await tessera([
      'import',
      missing,
      '--source',
      'crm',
      '--mapping',
      'examples/crm-mapping.json',
      '--data',
      dataDir,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(missing);
    expect(run.stderr).toMatch(/no such file|not found|does not exist/i);

    const missingMapping = path.join(tmp, 'no-such-mapping.json');
    const run2 = await tessera([
      'import',
      'examples/crm-export.csv',
      '--source',
      'crm',
      '--mapping',
      missingMapping,
      '--data',
      dataDir,
    ]);
    expect(run2.code).toBe(1);
    expect(run2.stderr).toContain(missingMapping);
    expect(run2.stderr).toMatch(/no such file|not found|does not exist/i);
  });

  it('identity evaluate / match on FEBRL 1 (auto), and bad input named', async () => {
    const febrl1 = path.join(sharedDataDir(), 'identity', 'febrl', 'dataset1.csv');
    const truth = ['--id-column', 'rec_id', '--truth-column', 'rec_id', '--truth-regex', 'rec-(\\d+)'];
    const score = jsonLine(await tessera(['identity', 'evaluate', febrl1, '--config', 'auto', ...truth, '--json']));
    expect(score.f1).toBeGreaterThanOrEqual(0.9);
    expect(score.records).toBe(1000);
    const out = path.join(tmp, 'clusters.json');
    const run = await tessera(['identity', 'match', febrl1, '--config', 'auto', '--id-column', 'rec_id', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const clusters = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(clusters)).toHaveLength(1000);
    expect(clusters['rec-223-org']).toBe(clusters['rec-223-dup-0']);

    const badConfig = path.join(tmp, 'bad-match.json');
    writeFileSync(
      badConfig,
      JSON.stringify({ fields: [{ name: 'surname', kind: 'name', levels: [{ type: 'jaro' }] }] }),
    );
    const bad = await tessera(['identity', 'match', febrl1, '--config', badConfig, '--id-column', 'rec_id']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('fields.0.levels.0');
    const noColumn = await tessera(['identity', 'match', febrl1, '--config', 'auto', '--id-column', 'id']);
    expect(noColumn.code).toBe(1);
    expect(noColumn.stderr).toContain('no column "id"');
  });

  it('identity dedupe --dry-run and rebuild on the store (no server)', async () => {
    const dedupe = jsonLine(await tessera(['identity', 'dedupe', '--dry-run', '--data', dataDir, '--json']));
    expect(dedupe).toMatchObject({ dryRun: true });
    expect(dedupe.profiles).toBeGreaterThan(0);
    const rebuild = jsonLine(await tessera(['identity', 'rebuild', '--data', dataDir, '--json']));
    expect(rebuild.entries).toBeGreaterThan(0);
    expect(rebuild.events).toBe(rebuild.entries);
    const badSince = await tessera(['identity', 'rebuild', '--since', 'last week', '--data', dataDir]);
    expect(badSince.code).toBe(1);
    expect(badSince.stderr).toContain('--since');
  });

  it('serve: the HTTP API shows the imported people and orders', async () => {
    const s = await startServe(dataDir, 20000);
    server = s;

    // A CRM person: identifiers normalised (e-mail lower-cased, phone in E.164), traits as mapped.
    const marie = await api('/v1/profiles/by/crm_id/C-10042');
    expect(marie.status, JSON.stringify(marie.body)).toBe(200);
    expect(marie.body.identities).toEqual(
      expect.arrayContaining([
        { type: 'crm_id', value: 'C-10042' },
        { type: 'email', value: 'marie.dupont@example.com' },
        { type: 'phone', value: '+33612345678' },
      ]),
    );
    expect(marie.body.traits).toMatchObject({
      firstName: 'Marie',
      lastName: 'Dupont',
      createdAt: '2021-03-14T09:02:00.000Z',
      source: 'crm',
    });
    expect(marie.body.consents).toEqual([expect.objectContaining({ purpose: 'newsletter', granted: true })]);
    expect((await api('/v1/profiles/by/phone/%2B33%206%2012%2034%2056%2078')).body.id).toBe(marie.body.id);

    // Jean typed his e-mail in capitals: found by the normalised and by the typed value.
    const jean = await api('/v1/profiles/by/email/jean.martin@example.com');
    expect(jean.status, JSON.stringify(jean.body)).toBe(200);
    expect(jean.body.identities).toEqual(
      expect.arrayContaining([
        { type: 'crm_id', value: 'C-10043' },
        { type: 'email', value: 'jean.martin@example.com' },
      ]),
    );
    expect(jean.body.identities.map((i: { type: string }) => i.type)).not.toContain('phone');
    expect((await api('/v1/profiles/by/email/JEAN.MARTIN%40Example.COM')).body.id).toBe(jean.body.id);
    expect(jean.body.consents).toEqual([expect.objectContaining({ purpose: 'newsletter', granted: false })]);

    // The broken line 8 (Thomas Petit) was not imported.
    expect((await api('/v1/profiles/by/crm_id/C-10047')).status).toBe(404);

    // Jean's order (lines 3–4 of orders.csv) is on his timeline, next to the CRM identify.
    const jeanEvents = await api(`/v1/profiles/${jean.body.id}/events`);
    expect(jeanEvents.status).toBe(200);
    const order = jeanEvents.body.items.find((e: { event?: string }) => e.event === 'Order Completed');
    expect(order, JSON.stringify(jeanEvents.body.items)).toBeDefined();
    expect(order).toMatchObject({
      type: 'track',
      messageId: 'SO-2024-0002',
      timestamp: '2024-03-02T14:03:00.000Z',
      sourceId: shop.id,
      properties: {
        order_id: 'SO-2024-0002',
        total: 24.5,
        currency: 'EUR',
        products: [{ sku: 'MUG-02', quantity: 1, price: 24.5 }],
        store: 'Lyon Part-Dieu',
        gift_message: 'Happy birthday Jean!\nLove, Claire',
      },
    });
    expect(jeanEvents.body.items.filter((e: { type: string }) => e.type === 'identify')).toHaveLength(1);

    // Marie has two orders; the guest order is on a profile of its own, found by e-mail.
    const marieOrders = await api(`/v1/profiles/${marie.body.id}/events?event=Order%20Completed`);
    expect(marieOrders.body.items.map((e: { messageId: string }) => e.messageId).sort()).toEqual([
      'SO-2024-0001',
      'SO-2024-0006',
    ]);
    const guest = await api('/v1/profiles/by/email/guest.buyer@example.com');
    expect(guest.status).toBe(200);
    const guestEvents = await api(`/v1/profiles/${guest.body.id}/events`);
    expect(guestEvents.body.items.map((e: { messageId: string }) => e.messageId)).toEqual(['SO-2024-0003']);
    // Line 6 (SO-2024-0004, "about 40") was not imported: Paul has no order.
    const paul = await api('/v1/profiles/by/crm_id/C-10045');
    expect(paul.status).toBe(200);
    const paulEvents = await api(`/v1/profiles/${paul.body.id}/events?event=Order%20Completed`);
    expect(paulEvents.body.items).toEqual([]);

    // The rotated key works, the old one does not.
    const track = (key: string) =>
      fetch(`${s.url}/v1/track`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ userId: 'u-cli', event: 'Key Checked' }),
      });
    expect((await track(shop.writeKey)).status).toBe(200);
    expect((await track(shop.oldKey)).status).toBe(401);
  });

  it('import while the server runs: the calls go through its API and it processes them', async () => {
    if (!server) throw new Error('server not started');
    const file = path.join(tmp, 'late-signups.ndjson');
    const mappingFile = path.join(tmp, 'late-mapping.json');
    writeFileSync(
      file,
      `${JSON.stringify({ mail: 'Late.One@Example.com', plan: 'gold' })}\n${JSON.stringify({ mail: 'late.two@example.com', plan: 'free' })}\n`,
    );
    writeFileSync(
      mappingFile,
      JSON.stringify({ type: 'identify', identifiers: { email: 'mail' }, traits: { plan: 'plan' } }),
    );
    const run = await tessera([
      'import',
      file,
      '--source',
      'late',
      '--mapping',
      mappingFile,
      '--data',
      dataDir,
      '--json',
    ]);
    expect(jsonLine(run)).toMatchObject({ read: 2, accepted: 2, bad: 0, quarantined: 0, via: 'server' });
    const deadline = Date.now() + 15_000;
    let found = await api('/v1/profiles/by/email/late.one@example.com');
    while (found.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      found = await api('/v1/profiles/by/email/late.one@example.com');
    }
    expect(found.status).toBe(200);
    expect(found.body.traits).toMatchObject({ plan: 'gold' });
    const sources = await api('/v1/sources');
    expect(sources.body.items.map((x: { name: string }) => x.name)).toContain('late');
  });

  it('sources while the server runs: through its API, so a rotation is seen at once', async () => {
    if (!server) throw new Error('server not started');
    const created = jsonLine(await tessera(['sources', 'create', 'live', '--data', dataDir, '--json']));
    expect(created).toMatchObject({ name: 'live', kind: 'tracking' });
    const track = (key: string) =>
      fetch(`${server?.url}/v1/track`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ userId: 'u-live', event: 'Key Checked' }),
      });
    expect((await track(created.writeKey)).status).toBe(200);
    const rotated = jsonLine(await tessera(['sources', 'rotate-key', 'live', '--data', dataDir, '--json']));
    expect(rotated.writeKey).not.toBe(created.writeKey);
    // The server did the rotation itself: no cache delay for the old key.
    expect((await track(created.writeKey)).status).toBe(401);
    expect((await track(rotated.writeKey)).status).toBe(200);
    const listed = jsonLine(await tessera(['sources', 'list', '--data', dataDir, '--json']));
    expect(listed.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['live', 'late', 'shop']));
  });

  it('identity dedupe and rebuild while the server runs: through its API', async () => {
    const dedupe = jsonLine(await tessera(['identity', 'dedupe', '--dry-run', '--data', dataDir, '--json']));
    expect(dedupe).toMatchObject({ dryRun: true });
    const rebuild = jsonLine(await tessera(['identity', 'rebuild', '--data', dataDir, '--json']));
    expect(rebuild.entries).toBeGreaterThan(0);
    const refused = await tessera(['identity', 'dedupe', '--config', 'auto', '--data', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('PUT /v1/settings/identity-matching');
  });

  it.runIf(process.platform === 'linux')(
    "serve: every thread runs at nice 0 by default; the pipeline's thread alone at TESSERA_PIPELINE_NICE's value when set",
    async () => {
      /** The nice value of each thread of `pid`: field 19 of /proc/<pid>/task/<tid>/stat, after the command. */
      const niceOf = (pid: number) =>
        readdirSync(`/proc/${pid}/task`).map((tid) => {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          return { tid: Number(tid), nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) };
        });
      // The default (`embeddedEnv` sets none), and an empty value, which is the default.
      expect(niceOf(server?.proc.pid as number).every((t) => t.nice === 0)).toBe(true);
      for (const [value, nice] of [
        ['', 0],
        ['7', 7],
      ] as const) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-nice-'));
        const lowered = await startServe(dir, 20_000, { TESSERA_PIPELINE_NICE: value });
        try {
          const pid = lowered.proc.pid as number;
          const threads = niceOf(pid);
          expect(threads.filter((t) => t.nice === nice)).toHaveLength(nice === 0 ? threads.length : 1);
          expect(threads.filter((t) => t.nice !== nice && t.nice !== 0)).toEqual([]);
          // The main thread (tid = pid), which answers HTTP and acknowledges ingest, is not lowered.
          expect(threads.find((t) => t.tid === pid)?.nice).toBe(0);
        } finally {
          await lowered.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    },
  );
});

/**
 * The BUILT `tessera traits …` and `tessera rfm …` commands, as child processes on a temporary data directory:
 * `init --json` gives a write key, `tessera serve` takes a `/v1/batch` of three people's orders; the commands then
 * run with the server up (they go through its API), and again once it has stopped (they open the store, and a write
 * runs the audience job itself).
 *
 * Needs `npm run build`. Without `dist/cli/main.js` it is skipped with a printed reason (`cli.test.ts` fails CI).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, BUILT, failure, type Json, jsonLine, MAIN, ok, REPO_ROOT, tessera } from '../test/cli-run.js';
import { embeddedEnv, freePort } from '../test/processes.js';

if (!BUILT) console.warn(`[traits-cli.test] skipped: ${MAIN} is missing; run \`npm run build\` first`);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const DAY = 86_400_000;

/** Three people and their orders (days ago, total): u1 3 orders (70 in 30 days), u2 1 old one, u3 2 recent ones. */
const PEOPLE: { userId: string; email: string; orders: [number, number][] }[] = [
  {
    userId: 'u1',
    email: 'a@example.com',
    orders: [
      [40, 30],
      [10, 50],
      [2, 20],
    ],
  },
  { userId: 'u2', email: 'b@example.com', orders: [[100, 200]] },
  {
    userId: 'u3',
    email: 'c@example.com',
    orders: [
      [5, 15],
      [3, 25],
    ],
  },
];

function batch(now: number): Record<string, unknown>[] {
  const at = (days: number) => new Date(now - days * DAY).toISOString();
  const calls: Record<string, unknown>[] = [];
  for (const p of PEOPLE) {
    calls.push({ type: 'identify', userId: p.userId, traits: { email: p.email }, timestamp: at(200) });
    for (const [days, total] of p.orders)
      calls.push({
        type: 'track',
        userId: p.userId,
        event: 'Order Completed',
        properties: { total },
        timestamp: at(days),
      });
  }
  calls.push({ type: 'track', userId: 'u1', event: 'Page Viewed', properties: {}, timestamp: at(1) });
  return calls.map((c, i) => ({ ...c, messageId: `m${i}` }));
}

const ORDERS = { fn: 'count', event: 'Order Completed' };
const SPEND_30D = { fn: 'sum', event: 'Order Completed', property: 'total', window: { last: 30, unit: 'days' } };

describe.runIf(BUILT)('tessera traits and tessera rfm (built CLI, child processes)', () => {
  let tmp: string;
  let dataDir: string;
  let server: { proc: ChildProcess; url: string; output: string[]; exited: boolean } | undefined;
  const data = () => ['--data', dataDir];
  /** u2's profile id, read through the server. */
  let u2: string;

  async function stopServer(): Promise<void> {
    const s = server;
    if (!s || s.exited) return;
    const gone = new Promise<void>((resolve) => s.proc.once('exit', () => resolve()));
    s.proc.kill('SIGTERM');
    const stopped = await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) s.proc.kill('SIGKILL');
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-traits-cli-'));
    dataDir = path.join(tmp, 'data');
    const { writeKey, adminToken } = jsonLine(await tessera(['init', '--json', ...data()]));

    const port = await freePort();
    const proc = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', String(port)], {
      cwd: REPO_ROOT,
      env: embeddedEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const s = { proc, url: `http://127.0.0.1:${port}`, output: [] as string[], exited: false };
    server = s;
    const keep = (chunk: Buffer) => s.output.push(chunk.toString('utf8'));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.once('exit', () => {
      s.exited = true;
    });
    const healthy = Date.now() + 30_000;
    for (;;) {
      if (s.exited) throw new Error(`tessera serve exited:\n${s.output.join('')}`);
      const up = await fetch(`${s.url}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) break;
      if (Date.now() > healthy) throw new Error(`tessera serve not healthy within 30 s:\n${s.output.join('')}`);
      await sleep(100);
    }

    const sent = await fetch(`${s.url}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch: batch(Date.now()) }),
    });
    expect(sent.status, await sent.clone().text()).toBe(200);
    expect(await sent.json()).toMatchObject({ accepted: 10, duplicates: 0 });

    // The pipeline stores them within a second or so: wait until every order is on its profile.
    const get = async (p: string) => {
      const r = await fetch(`${s.url}${p}`, { headers: { authorization: `Bearer ${adminToken}` } });
      return r.status === 200 ? r.json() : undefined;
    };
    const stored = Date.now() + 30_000;
    for (const p of PEOPLE) {
      for (;;) {
        const profile = await get(`/v1/profiles/by/user_id/${p.userId}`);
        const events = profile && (await get(`/v1/profiles/${profile.id}/events?type=track&limit=100`));
        if (events?.items.filter((e: Json) => e.event === 'Order Completed').length === p.orders.length) {
          if (p.userId === 'u2') u2 = profile.id;
          break;
        }
        if (Date.now() > stored) throw new Error(`${p.userId}'s orders not stored within 30 s`);
        await sleep(200);
      }
    }
  }, 120_000);

  afterAll(async () => {
    await stopServer();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('with tessera serve running: set, list, show, values, a bad definition, rfm set and show, delete', async () => {
    const url = server?.url as string;
    const file = path.join(tmp, 'orders.json');
    writeFileSync(file, JSON.stringify(ORDERS));
    expect(ok(await tessera(['traits', 'set', 'orders', '--name', 'Orders', '--definition', file, ...data()]))).toBe(
      'saved orders (Orders): number of Order Completed\n',
    );
    const spend = jsonLine(
      await tessera([
        'traits',
        'set',
        'spend-30d',
        '--name',
        'Spend, 30 days',
        '--definition',
        JSON.stringify(SPEND_30D),
        '--json',
        ...data(),
      ]),
    );
    // Saved by the server: the author is the token the CLI minted for itself.
    expect(spend).toMatchObject({ key: 'spend-30d', definition: SPEND_30D, updatedBy: expect.stringMatching(/^tok_/) });
    expect(spend.summary.en).toBe('sum of total over Order Completed in the last 30 days');

    const list = ok(await tessera(['traits', 'list', ...data()]));
    expect(list.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^KEY\s+NAME\s+SUMMARY$/),
      expect.stringMatching(/^orders\s+Orders\s+number of Order Completed$/),
      expect.stringMatching(/^spend-30d\s+Spend, 30 days\s+sum of total over Order Completed in the last 30 days$/),
    ]);
    const shown = ok(await tessera(['traits', 'show', 'spend-30d', ...data()]));
    expect(shown).toContain(`summary (en): ${spend.summary.en}\n`);
    expect(shown).toContain(`summary (fr): ${spend.summary.fr}\n`);
    expect(shown).toContain(`definition:   ${JSON.stringify(SPEND_30D)}\n`);

    const byUser = jsonLine(await tessera(['traits', 'values', 'user_id:u1', '--json', ...data()]));
    expect(byUser).toMatchObject({
      profileId: expect.stringMatching(/^prof_/),
      values: { orders: 3, 'spend-30d': 70 },
    });
    const byEmail = ok(await tessera(['traits', 'values', 'email:b@example.com', ...data()]));
    expect(byEmail).toMatch(new RegExp(`^${u2} at \\S+\\nKEY\\s+VALUE\\norders\\s+1\\nspend-30d\\s+0\\n$`));

    // The API's 400 names the field; the command exits 1 with it, and saves nothing.
    const bad = failure(
      await tessera([
        'traits',
        'set',
        'bad',
        '--name',
        'Bad',
        '--definition',
        '{"fn":"sum","event":"Order Completed"}',
        ...data(),
      ]),
    );
    expect(bad).toContain(`${url}: invalid_request: invalid computed trait: definition.property: is required for sum`);

    expect(ok(await tessera(['rfm', 'set', '--event', 'Order Completed', '--amount', 'total', ...data()]))).toMatch(
      /^saved RFM settings: event "Order Completed", amount "total", every purchase \(version 1\)\nscored 3 profiles \(\d+ ms\)\n$/,
    );
    const rfm = ok(await tessera(['rfm', 'show', ...data()]));
    // Three buyers in five quintiles: scores 1, 2, 3 — u2 (oldest, fewest) lost, u3 hibernating, u1 need attention.
    expect(rfm).toMatch(/^settings: {5}event "Order Completed", amount "total", every purchase \(version 1\)\n/);
    expect(rfm).toMatch(/\nlast run: {5}\S+ \(settings version 1\): 3 profiles scored\n/);
    expect(rfm).toMatch(/\nneed_attention\s+1\n/);
    expect(rfm).toMatch(/\nhibernating\s+1\n/);
    expect(rfm).toMatch(/\nlost\s+1\n/);
    expect(rfm).toMatch(/\nchampions\s+0\n/);
    expect(rfm).toContain(
      [
        'R \\ F  1  2  3  4  5',
        '5      0  0  0  0  0',
        '4      0  0  0  0  0',
        '3      0  0  1  0  0',
        '2      0  1  0  0  0',
        '1      1  0  0  0  0',
      ].join('\n'),
    );

    expect(ok(await tessera(['traits', 'delete', 'spend-30d', ...data()]))).toBe('deleted spend-30d\n');
    expect(failure(await tessera(['traits', 'show', 'spend-30d', ...data()]))).toContain(
      `${url}: not_found: no computed trait "spend-30d"`,
    );
  }, 300_000);

  it('without a server: list, set, values (with RFM), rfm set and show, audiences reading a trait', async () => {
    await stopServer();
    expect(server?.exited).toBe(true);

    const list = jsonLine(await tessera(['traits', 'list', '--json', ...data()]));
    expect(list.map((t: { key: string }) => t.key)).toEqual(['orders']);
    const first = jsonLine(
      await tessera([
        'traits',
        'set',
        'first-total',
        '--name',
        'First order total',
        '--definition',
        '{"fn":"first","event":"Order Completed","property":"total"}',
        '--json',
        ...data(),
      ]),
    );
    expect(first).toMatchObject({ key: 'first-total', updatedBy: 'cli', summary: { en: expect.any(String) } });

    const values = jsonLine(await tessera(['traits', 'values', u2, '--json', ...data()]));
    expect(values).toMatchObject({ profileId: u2, values: { orders: 1, 'first-total': 200 } });
    // The RFM run of the server, read as computed traits.
    expect(values.values).toMatchObject({ rfm_r: 1, rfm_f: 1, rfm_m: 3, rfm_score: '113', rfm_segment: 'lost' });
    const text = ok(await tessera(['traits', 'values', 'email:c@example.com', ...data()]));
    expect(text).toMatch(/\nfirst-total\s+15\n/);
    expect(text).toMatch(/\norders\s+2\n/);
    expect(text).toMatch(/\nrfm_segment\s+hibernating\n/);

    expect(
      failure(
        await tessera(['traits', 'set', 'x', '--name', 'X', '--definition', '{"fn":"avg","event":"E"}', ...data()]),
      ),
    ).toContain('invalid computed trait: definition.fn: expected one of count');
    expect(failure(await tessera(['traits', 'values', 'u1', ...data()]))).toContain('PROFILE: expected');
    expect(failure(await tessera(['traits', 'values', 'user_id:nobody', ...data()]))).toContain(
      'no profile with that user_id',
    );

    // Purchases of the last 30 days: u2's is older, so only u1 and u3 are scored.
    const set = jsonLine(
      await tessera([
        'rfm',
        'set',
        '--event',
        'Order Completed',
        '--amount',
        'total',
        '--window-days',
        '30',
        '--json',
        ...data(),
      ]),
    );
    expect(set).toMatchObject({ version: 2, settings: { windowDays: 30 }, run: { profiles: 2, settingsVersion: 2 } });
    const shown = jsonLine(await tessera(['rfm', 'show', '--json', ...data()]));
    expect(shown.settings).toEqual({
      version: 2,
      settings: { event: 'Order Completed', amountProperty: 'total', windowDays: 30 },
    });
    expect(shown.summary).toMatchObject({ configured: true, settingsVersion: 2 });
    expect(Object.values(shown.summary.segments).reduce((a: number, b) => a + (b as number), 0)).toBe(2);

    // An audience reads `orders`: changing it recomputes the audience at once (no scheduler runs); deleting it is
    // refused.
    ok(
      await tessera([
        'audiences',
        'create',
        'buyers-2',
        '--name',
        'Two orders',
        '--definition',
        '{"type":"computed_trait","key":"orders","compare":{"op":"gte","value":2}}',
        ...data(),
      ]),
    );
    const changed = ok(
      await tessera([
        'traits',
        'set',
        'orders',
        '--name',
        'Orders, 30 days',
        '--definition',
        JSON.stringify({ ...ORDERS, window: { last: 30, unit: 'days' } }),
        ...data(),
      ]),
    );
    expect(changed).toMatch(
      /^saved orders \(Orders, 30 days\): number of Order Completed in the last 30 days\nrecomputed audience buyers-2 \(version 1\): 2 members, 0 entered, 0 exited \(\d+ ms\)\n$/,
    );
    expect(failure(await tessera(['traits', 'delete', 'orders', ...data()]))).toContain(
      'computed trait "orders" is read by audience "buyers-2"',
    );
  }, 300_000);
});

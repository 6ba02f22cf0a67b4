/**
 * The BUILT `tessera destinations …` and `tessera pressure …` commands on the store (no server running): create,
 * list, show, update, test, log, replay and delete a destination; set, show and check the pressure policy; errors
 * naming the option. `audiences-cli.test.ts` covers `tessera demo`'s destinations.
 *
 * Needs `npm run build`. Without `dist/cli/main.js` it is skipped with a printed reason (`cli.test.ts` fails CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn } from '../destinations/test/stand-in.js';
import { BUILT, failure, jsonLine, MAIN, ok, tessera } from '../test/cli-run.js';

if (!BUILT) console.warn(`[destinations-cli.test] skipped: ${MAIN} is missing; run \`npm run build\` first`);

describe.runIf(BUILT)('tessera destinations and pressure (built CLI, on the store)', () => {
  let tmp: string;
  let receiver: Awaited<ReturnType<typeof startStandIn>>;
  const data = () => ['--data', path.join(tmp, 'data')];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-destinations-cli-'));
    receiver = await startStandIn((c) => (c.path === '/ok' ? { status: 200 } : { status: 410, body: 'gone' }));
  });
  afterAll(async () => {
    await receiver.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('creates, lists, shows, updates, tests and deletes a webhook destination', async () => {
    const created = jsonLine(
      await tessera([
        'destinations',
        'create',
        '--name',
        'Orders',
        '--type',
        'webhook',
        '--config',
        JSON.stringify({ url: `${receiver.url}/ok`, secret: 'a-secret-of-sixteen+' }),
        '--subscription',
        '{"events": {"names": ["Order Completed"]}}',
        '--purpose',
        'none',
        '--json',
        ...data(),
      ]),
    );
    expect(created).toMatchObject({ name: 'Orders', type: 'webhook', purpose: null, config: { secret: '********' } });
    const list = ok(await tessera(['destinations', 'list', ...data()]));
    expect(list).toMatch(
      new RegExp(
        `^ID +NAME +TYPE +ENABLED +PENDING +DELIVERED +DEAD +SKIPPED\\n${created.id} +Orders +webhook +true +0 +0 +0 +0\\n$`,
      ),
    );
    const shown = ok(await tessera(['destinations', 'show', created.id, ...data()]));
    expect(shown).toContain('purpose:      none (no consent check)');
    expect(shown).not.toContain('a-secret-of-sixteen');

    const test = ok(await tessera(['destinations', 'test', created.id, ...data()]));
    expect(test).toMatch(/^ok in \d+ ms\n$/);
    expect(receiver.calls.at(-1)?.json).toMatchObject({ batch: [{ event: { name: 'Tessera Test' } }] });

    const updated = jsonLine(
      await tessera([
        'destinations',
        'update',
        created.id,
        '--config',
        JSON.stringify({ url: `${receiver.url}/gone`, secret: 'a-secret-of-sixteen+' }),
        '--rate',
        '5',
        '--json',
        ...data(),
      ]),
    );
    expect(updated).toMatchObject({
      version: 2,
      ratePerSecond: 5,
      config: { url: `${receiver.url}/gone`, secret: '********' },
    });
    const failed = await tessera(['destinations', 'test', created.id, ...data()]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^drop \(HTTP 410\) in \d+ ms: webhook: HTTP 410 gone\n$/);
    // A new endpoint needs its secret given again; it is signed with it.
    expect(String(receiver.calls.at(-1)?.headers['tessera-signature'])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

    expect(ok(await tessera(['destinations', 'log', created.id, ...data()]))).toBe('no delivery\n');
    expect(ok(await tessera(['destinations', 'replay', created.id, ...data()]))).toBe(
      '0 dead-lettered messages queued again (sent when a server runs on this data directory)\n',
    );
    expect(ok(await tessera(['destinations', 'delete', created.id, ...data()]))).toBe(`deleted ${created.id}\n`);
    expect(ok(await tessera(['destinations', 'list', ...data()]))).toBe('no destination\n');
  }, 120_000);

  it('names the option or the field at fault', async () => {
    expect(
      failure(
        await tessera(['destinations', 'create', '--name', 'x', '--type', 'webhook', '--config', '{nope', ...data()]),
      ),
    ).toMatch(/--config \(inline JSON\): not valid JSON/);
    expect(
      failure(
        await tessera([
          'destinations',
          'create',
          '--name',
          'x',
          '--type',
          'webhook',
          '--config',
          '{"url": "ftp://x"}',
          '--subscription',
          '{"profiles": true}',
          ...data(),
        ]),
      ),
    ).toMatch(/invalid_request: config\.url: /);
    expect(failure(await tessera(['destinations', 'show', 'nope', ...data()]))).toMatch(
      /ID: "nope" is not a destination id/,
    );
    expect(failure(await tessera(['destinations', 'log', 'dst_x', '--status', 'lost', ...data()]))).toMatch(
      /--status: expected one of pending, delivered, dead, skipped/,
    );
    expect(failure(await tessera(['pressure', 'set', '--policy', path.join(tmp, 'missing.json'), ...data()]))).toMatch(
      /--policy: cannot read .*missing\.json: no such file/,
    );
  }, 120_000);

  it('sets, shows and checks the pressure policy', async () => {
    expect(ok(await tessera(['pressure', 'show', ...data()]))).toContain('version:      0 (never set: no caps)');
    const policy = {
      caps: [
        { channel: 'any', max: 3, days: 7 },
        { channel: 'sms', max: 1, days: 7 },
      ],
      quietHours: { start: '21:00', end: '08:00' },
      defaultTimezone: 'Europe/Paris',
      overCap: 'hold',
    };
    const set = jsonLine(await tessera(['pressure', 'set', '--policy', JSON.stringify(policy), '--json', ...data()]));
    expect(set).toMatchObject({ version: 1, policy });
    expect(ok(await tessera(['pressure', 'show', ...data()]))).toContain('caps:         3 any per 7 d, 1 sms per 7 d');
    expect(
      failure(
        await tessera([
          'pressure',
          'set',
          '--policy',
          '{"caps": [], "quietHours": null, "defaultTimezone": "Mars/Base", "overCap": "hold"}',
          ...data(),
        ]),
      ),
    ).toMatch(/defaultTimezone: unknown time zone "Mars\/Base"/);
    expect(failure(await tessera(['pressure', 'check', 'user_id:nobody', ...data()]))).toMatch(/not_found/);
  }, 120_000);
});

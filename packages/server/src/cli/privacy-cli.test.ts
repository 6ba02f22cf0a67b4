/**
 * The BUILT `tessera privacy rectify` command (docs/privacy.md, Rectification), as child processes on a temporary
 * data directory: `tessera serve` takes a person with a misspelt last name; `rectify --set … --wait --json` corrects
 * it through the server; once the server has stopped, `rectify --unset …` runs on the store, and `privacy show` reads
 * the proof. Bad `--set` arguments fail before any request.
 *
 * Needs `npm run build`. Without `dist/cli/main.js` it is skipped with a printed reason (`cli.test.ts` fails CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT, failure, type Json, jsonLine, MAIN, ok, tessera } from '../test/cli-run.js';
import { startServe, type TesseraProcess } from '../test/tessera-process.js';
import { parseCorrections } from './commands/privacy.js';

if (!BUILT) console.warn(`[privacy-cli.test] skipped: ${MAIN} is missing; run \`npm run build\` first`);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('parseCorrections (--set, --set-json, --unset)', () => {
  it('keeps --set values as text, parses --set-json, maps --unset to null', () => {
    expect(
      parseCorrections({ set: ['lastName=Smith', 'zip=01000', 'note=a=b'], setJson: ['vip=true'], unset: ['title'] }),
    ).toEqual({ lastName: 'Smith', zip: '01000', note: 'a=b', vip: true, title: null });
  });
  it('refuses a --set without a key, a --set-json that is not JSON, and no correction at all', () => {
    expect(() => parseCorrections({ set: ['=x'] })).toThrow('--set: expected key=value');
    expect(() => parseCorrections({ setJson: ['vip=yes'] })).toThrow('--set-json: the value of vip is not JSON');
    expect(() => parseCorrections({})).toThrow('give at least one --set key=value or --unset key');
  });
});

describe.runIf(BUILT)('tessera privacy rectify (built CLI, child processes)', () => {
  let tmp: string;
  let dataDir: string;
  let server: TesseraProcess | undefined;
  const data = () => ['--data', dataDir];

  const stopServer = async () => server?.stop();

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-privacy-cli-'));
    dataDir = path.join(tmp, 'data');
    const { writeKey, adminToken } = jsonLine(await tessera(['init', '--json', ...data()]));
    const s = await startServe(dataDir);
    server = s;
    const sent = await fetch(`${s.url}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        batch: [
          {
            type: 'identify',
            userId: 'ada-1',
            traits: { email: 'ada@example.org', lastName: 'Lovelance', title: 'Countess' },
            messageId: 'm1',
          },
        ],
      }),
    });
    expect(sent.status).toBe(200);
    const stored = Date.now() + 30_000;
    for (;;) {
      const r = await fetch(`${s.url}/v1/profiles/by/user_id/ada-1`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (r.status === 200) break;
      if (Date.now() > stored) throw new Error('the person was not stored within 30 s');
      await sleep(200);
    }
  }, 120_000);

  afterAll(async () => {
    await stopServer();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('rectifies through the server (--wait), then on the store; show reads the proof', async () => {
    const args = ['privacy', 'rectify', '--identifier', 'email:ADA@example.org'];
    const viaServer: Json = jsonLine(
      await tessera([...args, '--set', 'lastName=Lovelace', '--wait', '--json', ...data()]),
    );
    expect(viaServer).toMatchObject({
      type: 'rectify',
      status: 'completed',
      proof: { traits: ['lastName'], profilesTouched: 1, redacted: { ingest_log: 1, events: 1 } },
    });
    expect(JSON.stringify(viaServer)).not.toContain('Lovelance');

    await stopServer();
    const onStore = ok(await tessera([...args, '--unset', 'title', ...data()]));
    expect(onStore).toMatch(/^status:\s+completed$/m);
    expect(onStore).toMatch(/^corrected:\s+title$/m);
    expect(onStore).toMatch(/^redacted:\s+ingest_log 1, events 1, quarantine 0, deliveries 0$/m);
    const id = /^request:\s+(dsr_\S+)$/m.exec(onStore)?.[1] as string;
    const shown: Json = jsonLine(await tessera(['privacy', 'show', id, '--json', ...data()]));
    expect(shown).toMatchObject({ id, type: 'rectify', status: 'completed', proof: { traits: ['title'] } });

    const access: Json = jsonLine(
      await tessera(['privacy', 'access', '--identifier', 'user_id:ada-1', '--json', ...data()]),
    );
    expect(access.result.profile.traits).toEqual({ email: 'ada@example.org', lastName: 'Lovelace' });

    expect(failure(await tessera([...args, ...data()]))).toContain('give at least one --set key=value or --unset key');
  }, 120_000);
});

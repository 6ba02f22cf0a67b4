import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { DeliveryMessage } from '@tessera/protocol';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { publicMessage } from '../public-message.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { CSV_COLUMNS, createFileDestination, FileConfig } from './file.js';

type Config = Static<typeof FileConfig>;

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);

let root: string;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tessera-file-dest-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0)) await c();
  rmSync(root, { recursive: true, force: true });
});

/** A file destination under `root` whose clock is `clock.now`. */
function setUp(config: Partial<Config> = {}) {
  const clock = { now: T0 };
  const { ctx, close } = testSendContext<Config>(
    { directory: 'out', format: 'ndjson', prefix: 'tessera', rotateMegabytes: 64, rotateMinutes: 60, ...config },
    { now: () => clock.now },
  );
  cleanups.push(close);
  return { plugin: createFileDestination(root), ctx, clock, dir: path.join(root, config.directory ?? 'out') };
}

interface HandleMethods {
  write(...args: unknown[]): Promise<unknown>;
  sync(): Promise<void>;
}

const filesIn = (dir: string) => readdirSync(dir).sort();
const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1);

describe('file NDJSON', () => {
  it('appends one line per message, with public ids, under <root>/<directory>', async () => {
    const { plugin, ctx } = setUp({ directory: 'exports/crm' });
    const first = [
      testMessage(),
      testMessage({ kind: 'audience', audience: { key: 'vip', name: 'VIP', entered: true } }),
    ];
    const second = [testMessage()];
    expect(await plugin.send(first, ctx)).toEqual({ kind: 'ok' });
    expect(await plugin.send(second, ctx)).toEqual({ kind: 'ok' });
    const dir = path.join(root, 'exports', 'crm');
    expect(filesIn(dir)).toEqual(['tessera-20261102T090000Z.ndjson']);
    const text = readFileSync(path.join(dir, 'tessera-20261102T090000Z.ndjson'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([...first, ...second].map(publicMessage));
    expect(lines[0]).toMatchObject({ id: `dlv_${first[0].id}`, profileId: `prof_${first[0].profileId}` });
    expect(lines[0].at).toBe('2026-11-01T12:00:00.000Z');
  });

  it('uses the prefix in the file name', async () => {
    const { plugin, ctx, dir } = setUp({ prefix: 'crm_feed' });
    await plugin.send([testMessage()], ctx);
    expect(filesIn(dir)).toEqual(['crm_feed-20261102T090000Z.ndjson']);
  });

  it('flushes each write to disk (fsync) before answering ok', async () => {
    const { plugin, ctx } = setUp();
    // FileHandle is not exported: take its prototype from a handle, and record writes and syncs in order.
    const probe = await open(path.join(root, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as HandleMethods;
    await probe.close();
    const { write, sync } = proto;
    const order: string[] = [];
    vi.spyOn(proto, 'write').mockImplementation(function (this: HandleMethods, ...args: unknown[]) {
      order.push('write');
      return write.apply(this, args);
    });
    vi.spyOn(proto, 'sync').mockImplementation(function (this: HandleMethods) {
      order.push('sync');
      return sync.apply(this);
    });
    await plugin.send([testMessage()], ctx);
    await plugin.send([testMessage()], ctx);
    expect(order).toEqual(['write', 'sync', 'write', 'sync']);
  });
});

describe('file CSV', () => {
  const awkward = (): DeliveryMessage =>
    testMessage({
      kind: 'event',
      identifiers: {
        userId: '=HYPERLINK("http://evil.example","click")',
        email: 'ada,lovelace@example.com',
        phone: '+33612345678',
        anonymousId: '@anon',
      },
      traits: { note: 'say "hi"' },
      event: {
        id: '0191c000-0000-7000-8000-000000000009',
        type: 'track',
        name: 'line one\nline "two"',
        messageId: 'm9',
        timestamp: Date.UTC(2026, 10, 1, 11, 0, 0),
        properties: { delta: -5 },
        traits: null,
        context: null,
      },
    });

  it('writes the header line then one record per message, quoting commas, quotes and newlines', async () => {
    const { plugin, ctx, dir } = setUp({ format: 'csv' });
    const m = awkward();
    const plain = testMessage({ identifiers: { userId: 'u1', email: 'b@example.com' } });
    expect(await plugin.send([m, plain], ctx)).toEqual({ kind: 'ok' });
    expect(filesIn(dir)).toEqual(['tessera-20261102T090000Z.csv']);
    const text = readFileSync(path.join(dir, filesIn(dir)[0]), 'utf8');
    expect(text.split('\n')[0]).toBe(CSV_COLUMNS.join(','));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      id: `dlv_${m.id}`,
      kind: 'event',
      profileId: `prof_${m.profileId}`,
      at: '2026-11-01T12:00:00.000Z',
      userId: `'=HYPERLINK("http://evil.example","click")`,
      email: 'ada,lovelace@example.com',
      phone: '+33612345678',
      anonymousId: "'@anon",
      eventType: 'track',
      eventName: 'line one\nline "two"',
      eventTimestamp: '2026-11-01T11:00:00.000Z',
      properties: '{"delta":-5}',
      audienceKey: '',
      audienceEntered: '',
      traits: '{"note":"say \\"hi\\""}',
    });
    expect(rows[1]).toMatchObject({ id: `dlv_${plain.id}`, userId: 'u1', email: 'b@example.com', eventName: '' });
  });

  it('defuses values a spreadsheet would run as a formula (=, +, -, @) with a leading quote; numbers stay', async () => {
    const { plugin, ctx, dir } = setUp({ format: 'csv' });
    const m = testMessage({
      identifiers: { userId: '=1+2', email: '-2+3@example.com', phone: '+33612345678', anonymousId: '@SUM(A1)' },
      traits: {},
    });
    await plugin.send([m], ctx);
    const line = readFileSync(path.join(dir, filesIn(dir)[0]), 'utf8').split('\n')[1];
    expect(line).toContain(",'=1+2,'-2+3@example.com,+33612345678,'@SUM(A1),");
    expect(line.split(',').some((field) => /^"?[=\-@]/.test(field))).toBe(false);
  });

  it('writes audience columns and leaves plain values unquoted', async () => {
    const { plugin, ctx, dir } = setUp({ format: 'csv' });
    const m = testMessage({
      kind: 'audience',
      identifiers: { userId: 'u7' },
      traits: {},
      audience: { key: 'vip', name: 'VIP', entered: false },
    });
    await plugin.send([m], ctx);
    const line = readFileSync(path.join(dir, filesIn(dir)[0]), 'utf8').split('\n')[1];
    expect(line).toBe(`dlv_${m.id},audience,prof_${m.profileId},2026-11-01T12:00:00.000Z,u7,,,,,,,,vip,false,{}`);
  });
});

describe('file rotation', () => {
  it('starts a new file past rotateMegabytes, overwriting none', async () => {
    const { plugin, ctx, dir } = setUp({ rotateMegabytes: 0.001 });
    const batches = [0, 1, 2].map(() => [testMessage(), testMessage(), testMessage(), testMessage()]);
    for (const b of batches) expect(await plugin.send(b, ctx)).toEqual({ kind: 'ok' });
    // Same clock: the later files get a counter rather than replacing the first.
    const files = filesIn(dir);
    expect(files).toEqual([
      'tessera-20261102T090000Z-1.ndjson',
      'tessera-20261102T090000Z-2.ndjson',
      'tessera-20261102T090000Z.ndjson',
    ]);
    const byFile = new Map(files.map((f) => [f, linesOf(path.join(dir, f)).map((l) => JSON.parse(l).id)]));
    expect(byFile.get('tessera-20261102T090000Z.ndjson')).toEqual(batches[0].map((m) => `dlv_${m.id}`));
    expect(byFile.get('tessera-20261102T090000Z-1.ndjson')).toEqual(batches[1].map((m) => `dlv_${m.id}`));
    expect(byFile.get('tessera-20261102T090000Z-2.ndjson')).toEqual(batches[2].map((m) => `dlv_${m.id}`));
  });

  it('keeps writing to the same file below the size limit', async () => {
    const { plugin, ctx, dir } = setUp({ rotateMegabytes: 1 });
    for (let i = 0; i < 5; i++) await plugin.send([testMessage()], ctx);
    expect(filesIn(dir)).toHaveLength(1);
    expect(linesOf(path.join(dir, filesIn(dir)[0]))).toHaveLength(5);
  });

  it('starts a new file after rotateMinutes', async () => {
    const { plugin, ctx, clock, dir } = setUp({ rotateMinutes: 60 });
    const a = testMessage();
    const b = testMessage();
    const c = testMessage();
    await plugin.send([a], ctx);
    clock.now = T0 + 59 * 60_000;
    await plugin.send([b], ctx);
    expect(filesIn(dir)).toEqual(['tessera-20261102T090000Z.ndjson']);
    clock.now = T0 + 60 * 60_000;
    await plugin.send([c], ctx);
    expect(filesIn(dir)).toEqual(['tessera-20261102T090000Z.ndjson', 'tessera-20261102T100000Z.ndjson']);
    const ids = (f: string) => linesOf(path.join(dir, f)).map((l) => JSON.parse(l).id);
    expect(ids('tessera-20261102T090000Z.ndjson')).toEqual([`dlv_${a.id}`, `dlv_${b.id}`]);
    expect(ids('tessera-20261102T100000Z.ndjson')).toEqual([`dlv_${c.id}`]);
  });

  it('writes the CSV header again at the top of each new file', async () => {
    const { plugin, ctx, clock, dir } = setUp({ format: 'csv', rotateMinutes: 1 });
    await plugin.send([testMessage()], ctx);
    clock.now = T0 + 60_000;
    await plugin.send([testMessage()], ctx);
    const files = filesIn(dir);
    expect(files).toHaveLength(2);
    for (const f of files) {
      const lines = linesOf(path.join(dir, f));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    }
  });
});

describe('file directory', () => {
  it('the schema refuses a directory that leaves the export directory', () => {
    const valid = (directory: string) =>
      Value.Check(FileConfig, {
        directory,
        format: 'ndjson',
        prefix: 'tessera',
        rotateMegabytes: 64,
        rotateMinutes: 60,
      });
    expect(valid('out')).toBe(true);
    expect(valid('a/b.c/d')).toBe(true);
    expect(valid('..')).toBe(false);
    expect(valid('../x')).toBe(false);
    expect(valid('a/../../x')).toBe(false);
    expect(valid('a/..')).toBe(false);
    expect(valid('/etc')).toBe(false);
  });

  it.each(['../x', 'a/../../x', '/tmp/elsewhere'])(
    'send drops directory %s that bypassed the schema',
    async (directory) => {
      const { plugin, ctx } = setUp({ directory });
      const outcome = await plugin.send([testMessage()], ctx);
      expect(outcome).toMatchObject({ kind: 'drop', reason: expect.stringContaining('outside the export directory') });
      expect(readdirSync(root)).toEqual([]);
    },
  );
});

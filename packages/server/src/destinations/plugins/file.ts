import { type FileHandle, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { DeliveryMessage } from '@tessera/protocol';
import type { DestinationPlugin } from '../plugin.js';
import { publicMessage } from '../public-message.js';

export const FileConfig = Type.Object(
  {
    directory: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]+$',
      description: 'A folder under the server’s export directory (<data dir>/exports)',
    }),
    format: Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { default: 'ndjson' }),
    prefix: Type.String({ pattern: '^[A-Za-z0-9_-]{1,50}$', default: 'tessera' }),
    rotateMegabytes: Type.Number({
      minimum: 0.001,
      maximum: 10_000,
      default: 64,
      description: 'Start a new file past this size',
    }),
    rotateMinutes: Type.Number({
      minimum: 1,
      maximum: 10_080,
      default: 60,
      description: 'Start a new file after this long',
    }),
  },
  { additionalProperties: false },
);

/** The CSV columns: one line per message, nested values as JSON. */
export const CSV_COLUMNS = [
  'id',
  'kind',
  'profileId',
  'at',
  'userId',
  'email',
  'phone',
  'anonymousId',
  'eventType',
  'eventName',
  'eventTimestamp',
  'properties',
  'audienceKey',
  'audienceEntered',
  'traits',
] as const;

/**
 * A CSV field: quoted when it holds a comma, a quote or a line break. A value a spreadsheet would run as a formula
 * (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'` (OWASP's advice: quoting alone
 * does not stop Excel or LibreOffice), except a plain number or phone number (`+33612345678`, `-5`), which is
 * harmless and kept as it is.
 */
function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?[\d\s().]+$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(m: DeliveryMessage): string {
  const p = publicMessage(m);
  const e = p.event as { type?: string; name?: string; timestamp?: string; properties?: unknown } | undefined;
  const values = [
    p.id,
    m.kind,
    p.profileId,
    p.at,
    m.identifiers.userId,
    m.identifiers.email,
    m.identifiers.phone,
    m.identifiers.anonymousId,
    e?.type,
    e?.name,
    e?.timestamp,
    e?.properties,
    m.audience?.key,
    m.audience?.entered,
    m.traits,
  ];
  return `${values.map(csvField).join(',')}\n`;
}

interface OpenFile {
  handle: FileHandle;
  file: string;
  bytes: number;
  openedAt: number;
}

/**
 * A file export (DESIGN §7): appends each message as one NDJSON or CSV line to `<exports>/<directory>/<prefix>-<time>.
 * <ext>`, flushed to disk (`fsync`) before the batch counts as delivered, and starts a new file past a size or an
 * age. CSV values a spreadsheet would run as a formula get a leading `'` (`csvField`). A retried batch may
 * repeat lines: readers de-duplicate by `id`. `root` is the export directory; `directory` cannot leave it.
 */
export function createFileDestination(root: string): DestinationPlugin<typeof FileConfig> {
  return {
    type: 'file',
    title: 'File export',
    description: 'Writes messages to rotating NDJSON or CSV files in the export directory',
    configSchema: FileConfig,
    maxBatch: 1000,
    kinds: ['event', 'profile', 'audience'],
    async send(batch, ctx) {
      const { config } = ctx;
      const dir = path.resolve(root, config.directory);
      if (!dir.startsWith(path.resolve(root) + path.sep) && dir !== path.resolve(root))
        return { kind: 'drop', reason: `file: directory ${config.directory} is outside the export directory` };
      const format = config.format ?? 'ndjson';
      const state = await ctx.resource<{ current?: OpenFile }>(
        'file',
        async () => ({}),
        async (s) => {
          await s.current?.handle.close();
        },
      );
      const now = ctx.now();
      const current = state.current;
      if (
        current &&
        (current.bytes >= (config.rotateMegabytes ?? 64) * 1_000_000 ||
          now - current.openedAt >= (config.rotateMinutes ?? 60) * 60_000)
      ) {
        await current.handle.close();
        state.current = undefined;
      }
      if (!state.current) {
        await mkdir(dir, { recursive: true });
        const stamp = new Date(now)
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z');
        let file = path.join(dir, `${config.prefix ?? 'tessera'}-${stamp}.${format}`);
        for (let n = 1; ; n++) {
          try {
            const handle = await open(file, 'wx');
            state.current = { handle, file, bytes: 0, openedAt: now };
            break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw e;
            file = path.join(dir, `${config.prefix ?? 'tessera'}-${stamp}-${n}.${format}`);
          }
        }
        if (format === 'csv') {
          const header = `${CSV_COLUMNS.join(',')}\n`;
          await state.current.handle.write(header);
          state.current.bytes += Buffer.byteLength(header);
        }
      }
      const text = batch.map((m) => (format === 'csv' ? csvLine(m) : `${JSON.stringify(publicMessage(m))}\n`)).join('');
      const f = state.current as OpenFile;
      try {
        await f.handle.write(text);
        await f.handle.sync();
      } catch (e) {
        // A failed write may have left part of a line: the next batch starts a new file.
        await f.handle.close().catch(() => {});
        state.current = undefined;
        return { kind: 'retry', reason: `file: ${(e as Error).message}` };
      }
      f.bytes += Buffer.byteLength(text);
      return { kind: 'ok' };
    },
  };
}

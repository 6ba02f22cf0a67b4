import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Mapping } from '@tessera/protocol';
import { SingleBar } from 'cli-progress';
import pino from 'pino';
import { createApp } from '../../app.js';
import { applyMapping, deriveMessageId, fileIdentity, parseMapping, readRecords } from '../../imports/index.js';
import { runningServer } from '../lock.js';
import { type CommonOptions, configFrom } from '../options.js';

const BATCH = 500;

/**
 * `tessera import FILE --source NAME --mapping MAPPING.json`: reads CSV / NDJSON / JSON, maps each record to a
 * tracking call and sends it through the same ingest path as the API (validation, quarantine, de-dup, pipeline).
 * A row's messageId is derived from (source, file content, line) unless the mapping names one, so a re-run imports
 * nothing twice. Bad lines are reported with their number and field; the rest is imported.
 */
export async function importCommand(
  file: string,
  opts: CommonOptions & { source: string; mapping: string; json?: boolean; progress?: boolean },
): Promise<void> {
  const config = configFrom(opts);
  let mapping: Mapping;
  try {
    mapping = parseMapping(JSON.parse(readFileSync(opts.mapping, 'utf8')));
  } catch (e) {
    throw new Error(`mapping ${opts.mapping}: ${(e as Error).message}`);
  }
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  const summary = { file: path.resolve(file), read: 0, accepted: 0, duplicates: 0, bad: 0, quarantined: 0 };
  const bar =
    opts.progress === false || opts.json || !process.stderr.isTTY
      ? undefined
      : new SingleBar({
          format: 'importing [{bar}] {value} rows | {accepted} accepted | {bad} bad',
          stream: process.stderr,
        });
  try {
    // Read the file before creating anything: a missing file leaves no new source behind.
    const fileId = await fileIdentity(file);
    const source =
      (await app.storage.sources.byName(opts.source)) ??
      (await app.sources.get((await app.sources.create({ name: opts.source, kind: 'import' })).source.id));
    const now = new Date();
    bar?.start(0, 0, { accepted: 0, bad: 0 });
    let calls: unknown[] = [];
    let lines: number[] = [];
    const flush = async () => {
      if (calls.length === 0) return;
      const r = await app.ingest
        .accept(source, calls)
        .catch((e: Error & { details?: { quarantined?: { index: number; code: string; reason: string }[] } }) => {
          if (!e.details?.quarantined) throw e;
          return { accepted: 0, duplicates: 0, quarantined: e.details.quarantined };
        });
      summary.accepted += r.accepted;
      summary.duplicates += r.duplicates;
      summary.quarantined += r.quarantined.length;
      for (const q of r.quarantined) process.stderr.write(`line ${lines[q.index]}: ${q.code}: ${q.reason}\n`);
      calls = [];
      lines = [];
    };
    for await (const item of readRecords(file, mapping)) {
      summary.read++;
      if (!item.record) {
        summary.bad++;
        process.stderr.write(`line ${item.line}: ${item.error}\n`);
        continue;
      }
      const r = applyMapping(mapping, item.record, {
        defaultMessageId: deriveMessageId([source.id, fileId, String(item.line)]),
        now,
      });
      if (!r.ok) {
        summary.bad++;
        process.stderr.write(`line ${item.line}: ${r.field}: ${r.message}\n`);
        continue;
      }
      calls.push(r.call);
      lines.push(item.line);
      if (calls.length >= BATCH) await flush();
      bar?.setTotal(summary.read);
      bar?.update(summary.read, { accepted: summary.accepted, bad: summary.bad });
    }
    await flush();
    bar?.stop();
    const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
    if (!server) await app.drain();
    if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `${summary.read} rows read, ${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.bad} bad lines, ${summary.quarantined} quarantined${server ? ` (the server at ${server.url} processes them)` : ''}\n`,
      );
    }
  } finally {
    bar?.stop();
    await app.close();
  }
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Mapping } from '@tessera/protocol';
import { SingleBar } from 'cli-progress';
import { applyMapping, deriveMessageId, fileIdentity, parseMapping, readRecords } from '../../imports/index.js';
import { runningServer } from '../lock.js';
import { type CommonOptions, configFrom } from '../options.js';
import { localSink, remoteSink } from './import-sinks.js';

const BATCH = 500;

/**
 * `tessera import FILE --source NAME --mapping MAPPING.json`: reads CSV / NDJSON / JSON, maps each record to a
 * tracking call and sends it through the same ingest path as the API (validation, quarantine, de-dup, pipeline).
 * A row's messageId is derived from (source, file content, line) unless the mapping names one, so a re-run imports
 * nothing twice. Bad lines are reported with their number and field; the rest is imported. When a server serves
 * the data directory, the calls go through its API (`POST /v1/sources/{id}/calls`); otherwise the command opens
 * the store and processes them itself.
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
  const summary = { file: path.resolve(file), read: 0, accepted: 0, duplicates: 0, bad: 0, quarantined: 0 };
  // Read the file before creating anything: a missing file leaves no new source behind.
  const fileId = await fileIdentity(file);
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  const sink = server ? await remoteSink(config, server.url, opts.source) : await localSink(config, opts.source);
  const bar =
    opts.progress === false || opts.json || !process.stderr.isTTY
      ? undefined
      : new SingleBar({
          format: 'importing [{bar}] {value} rows | {accepted} accepted | {bad} bad',
          stream: process.stderr,
        });
  let finished = false;
  try {
    const now = new Date();
    bar?.start(0, 0, { accepted: 0, bad: 0 });
    let calls: unknown[] = [];
    let lines: number[] = [];
    const flush = async () => {
      if (calls.length === 0) return;
      const r = await sink.send(calls);
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
        defaultMessageId: deriveMessageId([sink.sourceId, fileId, String(item.line)]),
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
    finished = true;
    await sink.finish();
    if (opts.json)
      process.stdout.write(`${JSON.stringify({ ...summary, via: sink.serverUrl ? 'server' : 'store' })}\n`);
    else {
      process.stdout.write(
        `${summary.read} rows read, ${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.bad} bad lines, ${summary.quarantined} quarantined${sink.serverUrl ? ` (sent to the server at ${sink.serverUrl}, which processes them)` : ''}\n`,
      );
    }
  } finally {
    bar?.stop();
    if (!finished) await sink.finish().catch(() => undefined);
  }
}

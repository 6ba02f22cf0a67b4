import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { type CsvError, type Info, parse } from 'csv-parse';
import { TesseraError } from '../errors.js';
import { detectDelimiter, readHeaderLine } from './detect-delimiter.js';
import type { RecordItem } from './record-item.js';

/** CSV dialect of a file; every field is optional (see `readCsv`). */
export interface CsvOptions {
  /** One character; detected from the header line when absent. */
  delimiter?: string;
  /** One character, or `''` to turn quoting off; default `"`. */
  quote?: string;
  /** A Node.js encoding name; default UTF-8 (a UTF-8 or UTF-16LE BOM is honoured and removed). */
  encoding?: string;
}

interface Skipped {
  /** Records emitted before this error, to yield it in file order. */
  before: number;
  endLine: number;
  raw: string | undefined;
  error: string;
}

/**
 * Streams a CSV file as records keyed by the header row's names (values are strings, never cast).
 * Quoted fields may hold delimiters, quotes (`""`) and newlines; blank lines are skipped. A row whose field count
 * differs from the header's, or that is otherwise malformed, yields an error item and reading goes on. Every item's
 * `line` is the physical line where its record starts, so a quoted newline moves later rows down.
 *
 * @throws TesseraError `invalid_request` for an unknown encoding or a file csv-parse cannot go on with.
 */
export async function* readCsv(path: string, opts: CsvOptions = {}): AsyncGenerator<RecordItem> {
  const encoding = opts.encoding ?? 'utf8';
  if (!Buffer.isEncoding(encoding)) throw new TesseraError('invalid_request', `unknown CSV encoding "${encoding}"`);
  const quote = opts.quote ?? '"';
  const delimiter = opts.delimiter ?? detectDelimiter(await readHeaderLine(path, encoding), quote);
  const parser = parse({
    columns: true,
    bom: true,
    info: true,
    raw: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    relax_column_count: false,
    delimiter,
    quote,
    encoding,
  });
  const skipped: Skipped[] = [];
  parser.on('skip', (err: CsvError & Partial<Info> & { raw?: string; record?: unknown[]; columns?: unknown[] }) => {
    skipped.push({ before: err.records ?? 0, endLine: err.lines ?? 1, raw: err.raw, error: describeError(err) });
  });
  pipeline(createReadStream(path), parser, () => {});
  const startLine = createLineLocator();
  const toItem = (s: Skipped): RecordItem => ({ line: startLine(s.endLine, s.raw), error: s.error });
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, unknown>; info: Info; raw: string }>) {
      while (skipped.length > 0 && skipped[0].before < item.info.records) yield toItem(skipped.shift()!);
      yield { line: startLine(item.info.lines, item.raw), record: item.record };
    }
  } catch (err) {
    if ((err as CsvError).code?.startsWith('CSV_')) {
      throw new TesseraError('invalid_request', `cannot read CSV: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  for (const item of skipped) yield toItem(item);
}

/**
 * Turns csv-parse's line count into the physical line where a record starts; call it for every record and error
 * in file order. csv-parse reports the line where a record ends, and counts a CR LF it does not consume as a record
 * delimiter (one inside quotes, or in a file whose delimiter is LF) as two lines; such pairs are the only ones left
 * whole in `raw`, which holds the blank lines skipped before the record, the record and its line ending.
 * Known limit: after a record broken mid-way (a stray quote), CR LFs in the rest of that record are not seen.
 */
function createLineLocator(): (endLine: number, raw: string | undefined) => number {
  let doubled = 0;
  return (endLine, raw) => {
    if (raw === undefined) return endLine - doubled;
    doubled += raw.split('\r\n').length - 1;
    const body = raw.replace(/^(?:\r\n|\n|\r)+/, '').replace(/(?:\r\n|\n|\r)$/, '');
    return endLine - doubled - (body.match(/\r\n|\n|\r/g)?.length ?? 0);
  };
}

function describeError(err: CsvError & { record?: unknown[]; columns?: unknown[] }): string {
  if (err.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' && Array.isArray(err.record) && Array.isArray(err.columns)) {
    return `expected ${err.columns.length} fields (one per header column), got ${err.record.length}`;
  }
  return err.message.replace(/,? (?:at|on) line \d+/, '');
}

import { extname } from 'node:path';
import { TesseraError } from '../errors.js';
import { type CsvOptions, readCsv } from './read-csv.js';
import { readJson } from './read-json.js';
import { readNdjson } from './read-ndjson.js';
import type { RecordItem } from './record-item.js';

/** An import file's format. */
export type ImportFormat = 'csv' | 'ndjson' | 'json';

/** How to read an import file; a protocol `Mapping` has these fields, so a mapping can be passed as it is. */
export interface ReadOptions {
  /** Default: from the extension (`.csv`/`.tsv` → csv, `.ndjson`/`.jsonl` → ndjson, `.json` → json). */
  format?: ImportFormat;
  /** CSV dialect. A `.tsv` file defaults to a tab delimiter; otherwise the delimiter is detected. */
  csv?: CsvOptions;
  /** JSON only: a JSONPath selecting the records (default: an array's elements, or the document itself). */
  records?: string;
}

const BY_EXTENSION: Record<string, ImportFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'json',
};

/**
 * Streams the records of an import file in file order. Bad records (a CSV row with the wrong number of fields,
 * an NDJSON line that is not a JSON object) are yielded as `{ line, error }` and reading goes on; see
 * {@link RecordItem} for what `line` means per format.
 *
 * @throws TesseraError `invalid_request` when the format is neither given nor known from the extension, or the
 *   CSV encoding is unknown; file-system errors (`ENOENT`…) are thrown as they are.
 */
export function readRecords(path: string, opts: ReadOptions = {}): AsyncIterable<RecordItem> {
  const extension = extname(path).toLowerCase();
  const format = opts.format ?? BY_EXTENSION[extension];
  switch (format) {
    case 'csv':
      return readCsv(path, {
        ...opts.csv,
        delimiter: opts.csv?.delimiter ?? (extension === '.tsv' ? '\t' : undefined),
      });
    case 'ndjson':
      return readNdjson(path);
    case 'json':
      return readJson(path, opts.records);
    default:
      throw new TesseraError(
        'invalid_request',
        `cannot tell the format of "${extension || path}" files: set format to csv, ndjson or json`,
      );
  }
}

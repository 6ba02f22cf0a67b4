import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isRecord, type RecordItem } from './record-item.js';

/**
 * Reads NDJSON / JSON Lines (UTF-8, optional BOM, LF or CRLF) one line at a time, so files of any size stream.
 * Blank lines are skipped; a line that is not valid JSON, or is JSON but not an object, yields an error item and
 * reading goes on with the next line.
 */
export async function* readNdjson(path: string): AsyncGenerator<RecordItem> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const raw of lines) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield { line, error: `invalid JSON: ${(err as Error).message}` };
      continue;
    }
    yield isRecord(value) ? { line, record: value } : { line, error: 'line is valid JSON but not an object' };
  }
}

import { readFile } from 'node:fs/promises';
import type { RecordItem } from './record-item.js';
import { selectRecords } from './select-records.js';

/**
 * Reads a whole JSON document (UTF-8, optional BOM) and yields the records `selectRecords` picks from it.
 * A document that is not valid JSON yields a single error item whose `line` is where parsing stopped.
 */
export async function* readJson(path: string, recordsPath?: string): AsyncGenerator<RecordItem> {
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    yield { line: lineAt(text, message), error: `invalid JSON document: ${message}` };
    return;
  }
  yield* selectRecords(document, recordsPath);
}

/** The 1-based line of the `position N` a `JSON.parse` error names, or 1. */
function lineAt(text: string, message: string): number {
  const position = /position (\d+)/.exec(message);
  if (position === null) return 1;
  return text.slice(0, Number(position[1])).split('\n').length;
}

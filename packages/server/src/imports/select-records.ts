import { JSONPath } from 'jsonpath-plus';
import { isRecord, type RecordItem } from './record-item.js';

/**
 * Picks the records of a parsed JSON document (an import file or a webhook body).
 * With `recordsPath` (a mapping's `records`, e.g. `$.items[*]`) every JSONPath match is a record; without it, an
 * array's elements are the records, and any other document is one record. A selected value that is not an object
 * becomes an error item; `line` is the record's 1-based position among the selected values. No match gives no items.
 */
export function selectRecords(document: unknown, recordsPath?: string): RecordItem[] {
  let selected: unknown[];
  if (recordsPath !== undefined) {
    try {
      selected = JSONPath({ path: recordsPath, json: document as object, wrap: true, eval: 'safe' }) ?? [];
    } catch (err) {
      return [{ line: 1, error: `records JSONPath cannot be evaluated: ${(err as Error).message}` }];
    }
  } else {
    selected = Array.isArray(document) ? document : [document];
  }
  return selected.map((value, i) =>
    isRecord(value)
      ? { line: i + 1, record: value }
      : { line: i + 1, error: `record is ${describeKind(value)}, not a JSON object` },
  );
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

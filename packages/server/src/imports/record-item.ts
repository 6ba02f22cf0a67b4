import { isJsonObject } from '../json-record.js';

/**
 * One record read from an import file or a webhook body: either the `record` or the `error` that kept it from being
 * read. `line` is the 1-based physical line where the record starts (CSV, NDJSON) or the 1-based position of the
 * record in the selected list (JSON documents, webhook bodies).
 */
export interface RecordItem {
  line: number;
  record?: Record<string, unknown>;
  error?: string;
}

/** Whether a parsed JSON value can be a record: a plain object (not an array, not null). */
export const isRecord = isJsonObject;

/**
 * Imports: the mapping engine behind `tessera import FILE --source NAME --mapping MAPPING.json` and webhook
 * sources (`POST /v1/webhooks/{sourceId}`). The mapping format is documented in `docs/mapping.md`.
 *
 * A file import is: `parseMapping` the mapping file once; `fileIdentity` the file; for each item of
 * `readRecords(path, mapping)`, report `{ line, error }` items, and turn records into tracking calls with
 * `applyMapping(mapping, record, { defaultMessageId: deriveMessageId([sourceId, fileId, String(line)]), now })`.
 * A webhook does the same with `selectRecords(body, mapping.records)` and an id derived from the body hash.
 *
 * Nothing here throws for bad data: bad records and unmappable fields are values naming the line and field; only a
 * bad mapping (`parseMapping`), an unreadable file or an unknown format throw (`TesseraError` `invalid_request`, or
 * the file-system error).
 */
export { type ApplyContext, type ApplyResult, applyMapping } from './apply-mapping.js';
export { type Converted, convertValue, type FieldType, isMissing } from './convert-value.js';
export { deriveMessageId, fileIdentity } from './derive-message-id.js';
export { detectDelimiter } from './detect-delimiter.js';
export type { CsvOptions } from './read-csv.js';
export { type ImportFormat, type ReadOptions, readRecords } from './read-records.js';
export { isRecord, type RecordItem } from './record-item.js';
export { resolveField } from './resolve-field.js';
export { selectRecords } from './select-records.js';
export { parseMapping } from './validate-mapping.js';

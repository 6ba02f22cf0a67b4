import type { FieldRef } from '@tessera/protocol';
import { JSONPath } from 'jsonpath-plus';
import { type Converted, convertValue, type FieldType, isMissing } from './convert-value.js';

/**
 * Reads one field of a record through a mapping's field reference:
 * - a plain string is a key (CSV header or top-level JSON key) looked up exactly, case and spaces included;
 * - a string starting with `$` is a JSONPath evaluated on the record; the first match is used;
 * - an object takes its value from `const`, else from `from` (key or JSONPath as above), converts it to `type`,
 *   and falls back to `default` (converted too) when the value is missing.
 *
 * A missing value (absent, `null`, empty or blank string) without a default resolves to `undefined`.
 * `target` is a conversion the destination field always needs (a string for ids, a date for the timestamp, a
 * boolean for consent); it runs after the reference's own `type`.
 */
export function resolveField(ref: FieldRef, record: Record<string, unknown>, target?: FieldType): Converted {
  const spec = typeof ref === 'string' ? { from: ref } : ref;
  let raw: unknown = spec.const;
  if (raw === undefined && spec.from !== undefined) {
    try {
      raw = lookup(record, spec.from);
    } catch (err) {
      return { ok: false, message: `has a JSONPath that cannot be evaluated (${(err as Error).message})` };
    }
  }
  if (isMissing(raw)) raw = spec.default;
  if (isMissing(raw)) return { ok: true, value: undefined };
  const converted = convertValue(raw, spec.type);
  if (!converted.ok || target === undefined || target === spec.type) return converted;
  return convertValue(converted.value, target);
}

/** A key or a JSONPath (`$…`) looked up on a record; `undefined` when nothing matches. Throws on a broken JSONPath. */
export function lookup(record: Record<string, unknown>, from: string): unknown {
  if (!from.startsWith('$')) return Object.hasOwn(record, from) ? record[from] : undefined;
  const found: unknown[] | undefined = JSONPath({ path: from, json: record, wrap: true, eval: 'safe' });
  return found?.[0];
}

import { TRACKING_LIMITS } from '@tessera/protocol';
import { TesseraError } from '../../errors.js';

/** Structural limits of a whole JSON body. */
export interface JsonLimits {
  /** Most nested containers (objects and arrays) on any path; a scalar has depth 0, `{}` and `[]` depth 1. */
  maxDepth: number;
  /** Most object members, counted over every object in the value (array elements are not keys). */
  maxKeys: number;
}

/** Depth and key count of a JSON value, as {@link measureJson} reports them. */
export interface JsonMeasure {
  depth: number;
  keys: number;
}

/**
 * Request-level limits of the tracking API. Events are checked one by one against `TRACKING_LIMITS` later; these
 * only keep a hostile body from costing much before that:
 * - depth: an event may be `TRACKING_LIMITS.maxDepth` deep, and in `POST /v1/batch` it sits two levels down
 *   (`{"batch": [event]}`), hence the `+ 2` allowance for the wrapper;
 * - keys: room for 50 events at the per-event key limit. A body within the 500 KB request limit cannot have
 *   that many members, so this is a backstop for callers that read larger bodies.
 */
export const REQUEST_JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({
  maxDepth: TRACKING_LIMITS.maxDepth + 2,
  maxKeys: TRACKING_LIMITS.maxKeys * 50,
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes `buf` as UTF-8 (a leading byte order mark is dropped), parses it as JSON and checks it against `limits`.
 * Error messages never echo the body.
 *
 * @throws TesseraError `invalid_utf8` for bytes that are not UTF-8, `invalid_json` for malformed JSON, `too_deep`
 *   past `limits.maxDepth` (or when the parser gives up on extreme nesting), `too_many_keys` past `limits.maxKeys`.
 */
export function parseJsonBody(buf: Buffer, limits: JsonLimits = REQUEST_JSON_LIMITS): unknown {
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch (err) {
    throw new TesseraError('invalid_utf8', 'The request body is not valid UTF-8', { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof RangeError) throw tooDeep(limits.maxDepth);
    // The SyntaxError's message quotes the body, so it is neither shown nor kept as the cause.
    throw new TesseraError('invalid_json', 'The request body is not valid JSON');
  }
  const measure = measureJson(value);
  if (measure.depth > limits.maxDepth) throw tooDeep(limits.maxDepth);
  if (measure.keys > limits.maxKeys) {
    throw new TesseraError('too_many_keys', `The request body has more than ${limits.maxKeys} keys`, {
      details: { limit: limits.maxKeys },
    });
  }
  if (
    value !== null &&
    typeof value === 'object' &&
    measure.depth <= TRACKING_LIMITS.maxDepth &&
    measure.keys < TRACKING_LIMITS.maxKeys
  )
    withinEventLimits.add(value);
  return value;
}

/** Bodies whose whole measure is within the per-event limits (see {@link isWithinEventLimits}). */
const withinEventLimits = new WeakSet<object>();

/**
 * Whether `body` came from {@link parseJsonBody} with a depth and key count within `TRACKING_LIMITS`' per-event
 * limits. Then no call in it can exceed them, even with the batch `context` merged into it (that context sits one
 * level below the body's top, and its keys are already counted), so the calls need no measure of their own (keys
 * count strictly below the limit: a single-call endpoint adds `type`).
 */
export function isWithinEventLimits(body: unknown): boolean {
  return body !== null && typeof body === 'object' && withinEventLimits.has(body);
}

function tooDeep(maxDepth: number): TesseraError {
  return new TesseraError('too_deep', `The request body is nested more than ${maxDepth} levels deep`, {
    details: { limit: maxDepth },
  });
}

/**
 * Measures a JSON value (as `JSON.parse` returns it): its depth (nested objects and arrays on the deepest path; a
 * scalar is 0) and its number of object members in total. Walks with an explicit stack, so any nesting `JSON.parse`
 * accepts can be measured without exhausting the call stack. The value must be acyclic.
 */
export function measureJson(value: unknown): JsonMeasure {
  let depth = 0;
  let keys = 0;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const current = values.pop();
    const level = depths.pop()! + 1;
    if (current === null || typeof current !== 'object') continue;
    if (level > depth) depth = level;
    const children = Array.isArray(current) ? current : Object.values(current);
    if (!Array.isArray(current)) keys += children.length;
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(level);
      }
    }
  }
  return { depth, keys };
}

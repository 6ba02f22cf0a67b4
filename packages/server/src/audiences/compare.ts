import type { Comparison, NumericComparison } from '@tessera/protocol';
import { isPresent, toDate, toNumber } from './values.js';

type Scalar = string | number | boolean;

/**
 * Whether `actual` (a trait, computed trait, property or account trait value; `undefined` when absent) passes `c`.
 * The compared-with value's type picks the comparison (docs/audiences.md, "Operators"):
 * - a number compares numerically with numbers and decimal strings (`"42"`);
 * - a boolean only equals the same boolean;
 * - a string equals the same string, case-sensitive (a number never equals a string);
 * - an ISO 8601 bound of `gt`…`between` compares as an instant with ISO 8601 strings.
 * On a missing value (absent or `null`) everything is false but `not_exists`.
 */
export function compareValue(c: Comparison, actual: unknown): boolean {
  switch (c.op) {
    case 'exists':
      return isPresent(actual);
    case 'not_exists':
      return !isPresent(actual);
    case 'equals':
      return equalsScalar(actual, c.value);
    case 'not_equals':
      return isPresent(actual) && !equalsScalar(actual, c.value);
    case 'in':
      return c.values.some((v) => equalsScalar(actual, v));
    case 'contains':
      if (typeof actual === 'string') return typeof c.value === 'string' && actual.includes(c.value);
      if (Array.isArray(actual)) return actual.some((element) => equalsScalar(element, c.value));
      return false;
    case 'starts_with':
      return typeof actual === 'string' && actual.startsWith(c.value);
    case 'between': {
      const [low, high] = c.values;
      const x = ordered(actual, low);
      return x !== undefined && ordered(low, low)! <= x && x <= ordered(high, high)!;
    }
    default: {
      const x = ordered(actual, c.value);
      return x !== undefined && holds(c.op, x, ordered(c.value, c.value)!);
    }
  }
}

/** Whether the number `x` (an aggregate) passes `c`. */
export function compareNumber(c: NumericComparison, x: number): boolean {
  if (c.op === 'between') return c.values[0] <= x && x <= c.values[1];
  return holds(c.op, x, c.value);
}

function holds(op: 'equals' | 'not_equals' | 'gt' | 'gte' | 'lt' | 'lte', x: number, y: number): boolean {
  switch (op) {
    case 'equals':
      return x === y;
    case 'not_equals':
      return x !== y;
    case 'gt':
      return x > y;
    case 'gte':
      return x >= y;
    case 'lt':
      return x < y;
    case 'lte':
      return x <= y;
  }
}

/** `value` on the scale `bound` sets: a number for a numeric bound, ms since the epoch for an ISO 8601 one. */
function ordered(value: unknown, bound: number | string): number | undefined {
  return typeof bound === 'number' ? toNumber(value) : toDate(value);
}

function equalsScalar(actual: unknown, expected: Scalar): boolean {
  if (typeof expected === 'number') return toNumber(actual) === expected;
  return actual === expected;
}

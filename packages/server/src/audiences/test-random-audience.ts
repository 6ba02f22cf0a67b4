import {
  type AudienceCondition,
  COMPUTED_TRAIT_FUNCTIONS,
  type Comparison,
  type ComputedTraitDefinition,
  type EventWindow,
  type NumericComparison,
} from '@tessera/protocol';
import type { SeededRandom } from '../seeded-random.js';

/**
 * Test helper: random definitions and values for the SQL agreement test, drawn near the rules' edges (equal, ± 1,
 * numeric strings, nulls, arrays, impossible dates). Only the node types the SQL compiler accepts (no computed
 * traits): membership conditions name {@link AUDIENCE_KEYS}, which the data set gives stays in.
 */

/** Trait / property / account-trait paths the generated data uses (`address.city` walks into an object). */
export const PATHS = ['plan', 'total', 'tags', 'signup', 'address.city', 'flag', 'missing'];
export const EVENT_NAMES = ['Order Completed', 'Visit'];
export const PURPOSES = ['marketing', 'analytics'];
/** Audiences the generated data holds stays in (open and closed); `Z` has none. */
export const AUDIENCE_KEYS = ['A', 'B', 'Z'];

/** Dates of the generated data and bounds, valid or not. */
export const DATE_STRINGS = [
  '2024-05-01',
  '2024-05-01T00:00Z',
  '2024-05-01T02:00:00+02:00',
  '2024-05-01T00:00:00.001Z',
  '2024-04-30T23:59:59.999999999Z',
  '2024-02-29',
  '2023-02-29',
  '2024-05-01T24:00Z',
  '2024-05-01T10:00',
  '2024-13-01',
  '0000-01-01',
  '1969-12-31T23:59:59Z',
  '2024-05-01T10:00-23:59',
  '2024-05-01T10:00+24:00',
  '2024-5-01',
];

const STRINGS = ['gold', 'Gold', 'gol', 'golden', '', 'Paris', 'a', 'old'];
const NUMERIC_STRINGS = [
  '50',
  '50.0',
  '-0.5',
  '1e1',
  '.5',
  '5.',
  '+7',
  ' 42',
  '1,5',
  '0x10',
  'Infinity',
  '1e400',
  '1e-400',
];
const NUMBERS = [0, 1, 2, 7, 10, 49, 50, 51, -1, 0.5, 50.5, 1e21];

/** A stored JSON value: anything the rules distinguish. */
export function randomValue(r: SeededRandom, depth = 0): unknown {
  switch (r.int(0, 9)) {
    case 0:
      return r.pick(STRINGS);
    case 1:
      return r.pick(NUMERIC_STRINGS);
    case 2:
    case 3:
      return r.pick(NUMBERS);
    case 4:
      return r.chance(0.5);
    case 5:
      return null;
    case 6:
      return r.pick(DATE_STRINGS);
    case 7:
      return depth > 0 ? r.pick(STRINGS) : Array.from({ length: r.int(0, 3) }, () => randomValue(r, depth + 1));
    case 8:
      return depth > 0 ? {} : { city: r.pick(['Paris', 'Lyon']), x: 1 };
    default:
      return undefined;
  }
}

/** A random object over `PATHS` (`address` may be an object with `city`, or something else). */
export function randomObject(r: SeededRandom): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['plan', 'total', 'tags', 'signup', 'flag']) {
    const v = randomValue(r);
    if (v !== undefined) out[key] = v;
  }
  if (r.chance(0.5)) out.address = r.chance(0.8) ? { city: randomValue(r, 1) } : randomValue(r, 1);
  return out;
}

function scalar(r: SeededRandom): string | number | boolean {
  const k = r.int(0, 3);
  if (k === 0) return r.pick(STRINGS);
  if (k === 1) return r.pick(NUMBERS);
  if (k === 2) return r.chance(0.5);
  return r.pick(NUMERIC_STRINGS);
}

const VALID_DATES = DATE_STRINGS.slice(0, 6).concat(['2024-06-01', '2024-05-31T12:00:00Z']);

export function randomComparison(r: SeededRandom): Comparison {
  switch (r.int(0, 8)) {
    case 0:
      return { op: 'equals', value: scalar(r) };
    case 1:
      return { op: 'not_equals', value: scalar(r) };
    case 2:
      return { op: 'in', values: Array.from({ length: r.int(1, 3) }, () => scalar(r)) };
    case 3: {
      const value = scalar(r);
      return { op: 'contains', value: value === '' ? 'ol' : value };
    }
    case 4:
      return { op: 'starts_with', value: r.pick(['go', 'Go', 'gold', '5', 'Pa']) };
    case 5:
      return { op: r.chance(0.5) ? 'exists' : 'not_exists' };
    case 6: {
      const [a, b] = r.chance(0.5) ? [r.pick(NUMBERS), r.pick(NUMBERS)] : [r.pick(VALID_DATES), r.pick(VALID_DATES)];
      const low = order(a, b) <= 0 ? a : b;
      const high = low === a ? b : a;
      return { op: 'between', values: [low, high] } as Comparison;
    }
    default:
      return {
        op: r.pick(['gt', 'gte', 'lt', 'lte'] as const),
        value: r.chance(0.5) ? r.pick(NUMBERS) : r.pick(VALID_DATES),
      };
  }
}

function order(a: number | string, b: number | string): number {
  return typeof a === 'number' ? a - (b as number) : Date.parse(a as string) - Date.parse(b as string);
}

function numericComparison(r: SeededRandom, count: boolean): NumericComparison {
  const n = () => (count ? r.int(0, 3) : r.pick([0, 1, 7, 10, 50, 51, 57, 100, -1, 0.5]));
  if (r.chance(0.15)) {
    const [a, b] = [n(), n()].sort((x, y) => x - y);
    return { op: 'between', values: [a, b] };
  }
  return { op: r.pick(['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte'] as const), value: n() };
}

function randomWindow(r: SeededRandom): EventWindow | undefined {
  const k = r.int(0, 3);
  if (k === 0) return undefined;
  if (k === 1) return { last: r.pick([1, 2, 30, 36]), unit: r.pick(['hours', 'days', 'weeks', 'months'] as const) };
  if (k === 2) return { from: r.pick(['2024-05-01', '2024-05-31T12:00:00Z']) };
  return r.chance(0.5) ? { to: '2024-05-01T00:00:00.001Z' } : { from: '2024-05-01', to: '2024-06-01T12:00:00Z' };
}

/** A random definition of at most `depth` levels. */
export function randomDefinition(r: SeededRandom, depth = 4): AudienceCondition {
  const k = r.int(0, depth > 1 ? 9 : 5);
  switch (k) {
    case 0:
    case 1:
      return { type: 'trait', key: r.pick(PATHS), compare: randomComparison(r) };
    case 2:
    case 3: {
      const fn = r.pick(['none', 'count', 'sum', 'min', 'max'] as const);
      const where = Array.from({ length: r.int(0, 2) }, () => ({
        property: r.pick(PATHS),
        compare: randomComparison(r),
      }));
      const window = randomWindow(r);
      return {
        type: 'event',
        name: r.pick(EVENT_NAMES),
        ...(where.length > 0 ? { where } : {}),
        ...(fn === 'none'
          ? {}
          : {
              aggregate:
                fn === 'count'
                  ? { fn, compare: numericComparison(r, true) }
                  : { fn, property: r.pick(['total', 'total', 'plan']), compare: numericComparison(r, false) },
            }),
        ...(window ? { window } : {}),
      };
    }
    case 4: {
      const where = Array.from({ length: r.int(0, 2) }, () => ({ key: r.pick(PATHS), compare: randomComparison(r) }));
      return { type: 'entity', entity: 'account', ...(where.length > 0 ? { where } : {}) };
    }
    case 5:
      if (r.chance(0.35))
        return { type: 'computed_trait', key: r.pick(COMPUTED_TRAIT_KEYS), compare: randomComparison(r) };
      if (r.chance(0.3)) return { type: 'audience', key: r.pick(AUDIENCE_KEYS) };
      return { type: 'consent', purpose: r.pick(PURPOSES), state: r.chance(0.5) ? 'granted' : 'denied' };
    case 6:
      return { type: 'not', condition: randomDefinition(r, depth - 1) };
    default:
      return {
        type: r.chance(0.5) ? 'and' : 'or',
        conditions: Array.from({ length: r.int(1, 3) }, () => randomDefinition(r, depth - 1)),
      };
  }
}

/** Keys of the computed traits `randomComputedTraits` defines: two per function. */
export const COMPUTED_TRAIT_KEYS = COMPUTED_TRAIT_FUNCTIONS.flatMap((fn) => [`${fn}_a`, `${fn}_b`]);

/** Two random definitions per computed trait function (filters, windows and properties near the data's edges). */
export function randomComputedTraits(r: SeededRandom): Map<string, ComputedTraitDefinition> {
  const out = new Map<string, ComputedTraitDefinition>();
  for (const fn of COMPUTED_TRAIT_FUNCTIONS) {
    for (const suffix of ['a', 'b']) {
      const where = Array.from({ length: r.int(0, 1) }, () => ({
        property: r.pick(PATHS),
        compare: randomComparison(r),
      }));
      const window = randomWindow(r);
      const property =
        fn === 'count' || fn === 'days_since' ? undefined : r.pick(['total', 'total', 'plan', 'tags', 'address.city']);
      out.set(`${fn}_${suffix}`, {
        fn,
        event: r.pick(EVENT_NAMES),
        ...(property ? { property } : {}),
        ...(where.length > 0 ? { where } : {}),
        ...(window ? { window } : {}),
      });
    }
  }
  return out;
}

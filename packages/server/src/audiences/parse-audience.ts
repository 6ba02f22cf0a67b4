import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import {
  AUDIENCE_LIMITS,
  type AudienceCondition,
  AudienceDefinition,
  type Comparison,
  type EventAggregate,
  type EventWindow,
  type NumericComparison,
} from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { explainSchemaError } from './explain-schema-error.js';
import { toDate } from './values.js';
import { isRelative, UNIT_MS } from './window.js';

let checker: TypeCheck<typeof AudienceDefinition> | undefined;

/**
 * Validates a parsed JSON value as an {@link AudienceDefinition} and returns it (a copy, safe to keep).
 *
 * Before the schema, the limits JSON Schema cannot say: at most `AUDIENCE_LIMITS.maxDepth` levels and
 * `maxConditions` nodes. After it, what the schema cannot say either: `between` takes exactly two values, both
 * numbers or both ISO 8601 dates, low ≤ high; an ordered bound (`gt`…`lte`) that is a string must be an ISO 8601
 * date or date-time with an offset; `contains` a string needs it non-empty; an aggregate `count` takes no property
 * and is compared with whole numbers ≥ 0, `sum` / `min` / `max` need one; an absolute window needs `from` or `to`,
 * valid dates, from < to; a relative window is at most `maxWindowDays` days long; trait and property paths have no
 * empty part (`a..b`); with `opts.key` (the audience being defined), it may not refer to itself.
 *
 * @throws TesseraError `invalid_request` with the message `invalid audience: <field>: <reason>`, the field a dotted
 *   path into the definition (`conditions.1.window.last`, `(root)`), also given as `details.field`.
 */
export function parseAudience(json: unknown, opts: { key?: string } = {}): AudienceDefinition {
  checkShape(json, '', 1, { nodes: 0 });
  checker ??= TypeCompiler.Compile(AudienceDefinition);
  const schemaError = checker.Errors(json).First();
  if (schemaError !== undefined) {
    const { field, message } = explainSchemaError(schemaError);
    fail(field, message);
  }
  const definition = structuredClone(json as AudienceDefinition);
  checkNode(definition, '', opts.key);
  return definition;
}

function fail(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid audience: ${field}: ${message}`, { details: { field } });
}

const at = (path: string, part: string | number) => (path === '' ? String(part) : `${path}.${part}`);

/** Depth and size, walked on the raw value before the (recursive) schema check so a huge value costs little. */
function checkShape(value: unknown, path: string, depth: number, seen: { nodes: number }): void {
  if (typeof value !== 'object' || value === null) return;
  const node = value as Record<string, unknown>;
  seen.nodes += 1;
  if (depth > AUDIENCE_LIMITS.maxDepth) {
    fail(path || '(root)', `nested deeper than ${AUDIENCE_LIMITS.maxDepth} levels`);
  }
  if (seen.nodes > AUDIENCE_LIMITS.maxConditions) {
    fail('(root)', `more than ${AUDIENCE_LIMITS.maxConditions} conditions (and / or / not included)`);
  }
  if ((node.type === 'and' || node.type === 'or') && Array.isArray(node.conditions)) {
    if (node.conditions.length > AUDIENCE_LIMITS.maxChildren) return; // the schema says so, with the field
    node.conditions.forEach((c, i) => {
      checkShape(c, at(at(path, 'conditions'), i), depth + 1, seen);
    });
  } else if (node.type === 'not') {
    checkShape(node.condition, at(path, 'condition'), depth + 1, seen);
  }
}

function checkNode(node: AudienceCondition, path: string, self: string | undefined): void {
  switch (node.type) {
    case 'and':
    case 'or':
      node.conditions.forEach((c, i) => {
        checkNode(c, at(at(path, 'conditions'), i), self);
      });
      return;
    case 'not':
      checkNode(node.condition, at(path, 'condition'), self);
      return;
    case 'trait':
      checkPath(at(path, 'key'), node.key);
      checkComparison(at(path, 'compare'), node.compare);
      return;
    case 'computed_trait':
      checkComparison(at(path, 'compare'), node.compare);
      return;
    case 'entity':
      node.where?.forEach((f, i) => {
        checkPath(at(at(at(path, 'where'), i), 'key'), f.key);
        checkComparison(at(at(at(path, 'where'), i), 'compare'), f.compare);
      });
      return;
    case 'event':
      node.where?.forEach((f, i) => {
        checkPath(at(at(at(path, 'where'), i), 'property'), f.property);
        checkComparison(at(at(at(path, 'where'), i), 'compare'), f.compare);
      });
      if (node.aggregate !== undefined) checkAggregate(at(path, 'aggregate'), node.aggregate);
      if (node.window !== undefined) checkWindow(at(path, 'window'), node.window);
      return;
    case 'audience':
      if (self !== undefined && node.key === self)
        fail(at(path, 'key'), `an audience cannot contain itself ("${self}")`);
      return;
    case 'consent':
      return;
  }
}

function checkPath(field: string, path: string): void {
  if (path.split('.').some((part) => part === '')) {
    fail(field, 'must be a name or a dotted path (address.city) without empty parts');
  }
}

function checkComparison(field: string, c: Comparison): void {
  if (c.op === 'contains' && c.value === '') fail(at(field, 'value'), 'must not be empty');
  if (c.op === 'gt' || c.op === 'gte' || c.op === 'lt' || c.op === 'lte') checkBound(at(field, 'value'), c.value);
  if (c.op === 'between') {
    checkPair(field, c.values);
    c.values.forEach((v, i) => {
      checkBound(at(at(field, 'values'), i), v);
    });
    if (typeof c.values[0] !== typeof c.values[1]) {
      fail(at(field, 'values'), 'must be two numbers or two ISO 8601 dates');
    }
    const [low, high] = c.values.map((v) => (typeof v === 'number' ? v : toDate(v)!));
    if (low > high) fail(at(field, 'values'), 'the low bound is after the high bound');
  }
}

function checkBound(field: string, bound: number | string): void {
  if (typeof bound === 'string' && toDate(bound) === undefined) {
    fail(field, 'must be a number or an ISO 8601 date (2024-05-01) or date-time with an offset (…T10:00:00Z)');
  }
}

function checkPair(field: string, values: readonly unknown[]): void {
  if (values.length !== 2)
    fail(at(field, 'values'), `between needs exactly two values [low, high], not ${values.length}`);
}

function checkAggregate(field: string, a: EventAggregate): void {
  if (a.fn === 'count' && a.property !== undefined) fail(at(field, 'property'), 'count takes no property');
  if (a.fn !== 'count' && a.property === undefined) fail(at(field, 'property'), `is required for ${a.fn}`);
  if (a.property !== undefined) checkPath(at(field, 'property'), a.property);
  const c: NumericComparison = a.compare;
  if (c.op === 'between') {
    checkPair(at(field, 'compare'), c.values);
    if (c.values[0] > c.values[1]) fail(at(at(field, 'compare'), 'values'), 'the low bound is above the high bound');
  }
  if (a.fn === 'count') {
    const values = c.op === 'between' ? c.values : [c.value];
    if (values.some((v) => !Number.isInteger(v) || v < 0)) {
      fail(
        at(at(field, 'compare'), c.op === 'between' ? 'values' : 'value'),
        'a count is compared with whole numbers ≥ 0',
      );
    }
  }
}

function checkWindow(field: string, w: EventWindow): void {
  if (isRelative(w)) {
    const maxLast = Math.floor((AUDIENCE_LIMITS.maxWindowDays * UNIT_MS.days) / UNIT_MS[w.unit]);
    if (w.last > maxLast) {
      fail(
        at(field, 'last'),
        `at most ${maxLast} ${w.unit} (a window is at most ${AUDIENCE_LIMITS.maxWindowDays} days, 10 years)`,
      );
    }
    return;
  }
  if (w.from === undefined && w.to === undefined) fail(field, 'needs "from", "to" or both, or { last, unit }');
  for (const key of ['from', 'to'] as const) {
    const value = w[key];
    if (value !== undefined && toDate(value) === undefined) {
      fail(at(field, key), 'must be an ISO 8601 date (2024-05-01) or date-time with an offset (…T10:00:00Z)');
    }
  }
  if (w.from !== undefined && w.to !== undefined && toDate(w.from)! >= toDate(w.to)!) {
    fail(at(field, 'to'), 'must be after "from"');
  }
}

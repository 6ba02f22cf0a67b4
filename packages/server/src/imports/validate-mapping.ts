import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { type FieldRef, Mapping } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { FieldType } from './convert-value.js';
import { resolveField } from './resolve-field.js';

const IDENTIFIER_TYPE = /^[a-z][a-z0-9_]*$/;
const ONLY_FOR: Record<'event' | 'name' | 'groupId' | 'properties', readonly Mapping['type'][]> = {
  event: ['track'],
  name: ['page'],
  groupId: ['group'],
  properties: ['track', 'page'],
};

let checker: TypeCheck<typeof Mapping> | undefined;

/**
 * Validates a parsed JSON value as a {@link Mapping} and returns it (a copy, safe to keep).
 *
 * Besides the schema (`@tessera/protocol` `Mapping`), it checks what the schema cannot say: `track` needs `event`,
 * `group` needs `groupId`; `event`, `name`, `groupId` and `properties` only appear on the types that use them; at
 * least one identifier, with snake_case type names; an object field reference has `from` or `const` (not both, and
 * no `default` beside `const`), and its `const` / `default` converts to its `type`; `records` is a JSONPath and
 * `csv` options only go with CSV; `csv.encoding` is a Node.js encoding name.
 *
 * @throws TesseraError `invalid_request` whose message starts with the offending field path (`identifiers.email:`),
 *   also given as `details.field`.
 */
export function parseMapping(json: unknown): Mapping {
  checker ??= TypeCompiler.Compile(Mapping);
  const schemaError = checker.Errors(json).First();
  if (schemaError !== undefined) {
    const { field, message } = explain(schemaError);
    fail(field, message);
  }
  const mapping = structuredClone(json as Mapping);
  checkSemantics(mapping);
  return mapping;
}

function fail(field: string, message: string): never {
  throw new TesseraError('invalid_request', `invalid mapping: ${field}: ${message}`, { details: { field } });
}

function pathOf(pointer: string): string {
  return pointer === '' ? '(root)' : pointer.slice(1).split('/').join('.').replaceAll('~1', '/').replaceAll('~0', '~');
}

/** The field and a readable message for a schema error; a union is explained by the branch that got furthest. */
function explain(error: ValueError): { field: string; message: string } {
  const field = pathOf(error.path);
  if (error.type !== ValueErrorType.Union) return { field, message: lowerFirst(error.message) };
  if (isFieldRefSchema(error.schema) && (typeof error.value !== 'object' || error.value === null)) {
    return { field, message: 'must be a column name, a JSONPath ($…) or an object { from, const, type, default }' };
  }
  const firsts = error.errors.map((branch) => branch.First()).filter((e): e is ValueError => e !== undefined);
  const literals = firsts.map((e) => e.schema.const).filter((v) => typeof v === 'string');
  if (literals.length === firsts.length && literals.length > 0) {
    return { field, message: `expected one of ${literals.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  const deepest = firsts.reduce<ValueError | undefined>(
    (a, e) => (a && a.path.length >= e.path.length ? a : e),
    undefined,
  );
  if (deepest === undefined || deepest.path === error.path) return { field, message: lowerFirst(error.message) };
  return explain(deepest);
}

function isFieldRefSchema(schema: TSchema): boolean {
  const branches = schema.anyOf as TSchema[] | undefined;
  return branches?.length === 2 && branches[0].type === 'string' && branches[1].properties?.from !== undefined;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function checkSemantics(m: Mapping): void {
  if (m.type === 'track' && m.event === undefined) fail('event', 'is required when type is "track"');
  if (m.type === 'group' && m.groupId === undefined) fail('groupId', 'is required when type is "group"');
  for (const [field, types] of Object.entries(ONLY_FOR)) {
    if (m[field as keyof typeof ONLY_FOR] !== undefined && !types.includes(m.type)) {
      fail(field, `is only used when type is ${types.map((t) => `"${t}"`).join(' or ')}, not "${m.type}"`);
    }
  }
  const idTypes = Object.keys(m.identifiers);
  if (idTypes.length === 0) fail('identifiers', 'needs at least one identifier (user_id, email, crm_id…)');
  for (const idType of idTypes) {
    if (!IDENTIFIER_TYPE.test(idType)) fail(`identifiers.${idType}`, 'identifier types are snake_case names');
  }
  if (m.records !== undefined && !m.records.startsWith('$')) fail('records', 'must be a JSONPath starting with "$"');
  if (m.records !== undefined && m.format !== undefined && m.format !== 'json') {
    fail('records', `only applies to JSON documents, not format "${m.format}"`);
  }
  if (m.csv !== undefined && m.format !== undefined && m.format !== 'csv') {
    fail('csv', `only applies to CSV, not format "${m.format}"`);
  }
  if (m.csv?.encoding !== undefined && !Buffer.isEncoding(m.csv.encoding)) {
    fail('csv.encoding', 'is not an encoding Node.js knows (utf8, latin1, utf16le…)');
  }
  for (const [field, target] of [
    ['messageId', 'string'],
    ['timestamp', 'date'],
    ['event', 'string'],
    ['name', 'string'],
    ['groupId', 'string'],
  ] as const) {
    const ref = m[field];
    if (ref !== undefined) checkRef(field, ref, target);
  }
  const maps = [
    ['identifiers', 'string'],
    ['traits', undefined],
    ['properties', undefined],
    ['consent', 'boolean'],
  ] as const;
  for (const [field, target] of maps) {
    for (const [key, ref] of Object.entries(m[field] ?? {})) checkRef(`${field}.${key}`, ref, target);
  }
}

function checkRef(field: string, ref: FieldRef, target: FieldType | undefined): void {
  if (typeof ref === 'string') return;
  if (ref.from === undefined && ref.const === undefined) fail(field, 'needs "from" (a column or JSONPath) or "const"');
  if (ref.from !== undefined && ref.const !== undefined) fail(field, 'takes "from" or "const", not both');
  if (ref.const !== undefined && ref.default !== undefined) fail(field, '"default" is never used beside "const"');
  const fixed = ref.const !== undefined ? 'const' : 'default';
  if (ref[fixed] === undefined) return;
  const probe = resolveField({ const: ref[fixed], type: ref.type }, {}, target);
  if (!probe.ok) fail(field, `its ${fixed} ${probe.message}`);
}

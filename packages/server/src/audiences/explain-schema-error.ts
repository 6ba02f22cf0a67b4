import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';

/** The keys that tell the branches of the language's unions apart: node `type`, comparison `op`. */
const DISCRIMINATORS = ['type', 'op'] as const;

/** A dotted field path (`conditions.1.compare.value`) from a JSON pointer; `(root)` for the whole value. */
export function fieldPath(pointer: string): string {
  return pointer === '' ? '(root)' : pointer.slice(1).split('/').join('.').replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * The field and a readable message for a schema error of an audience definition. A union is explained by the branch
 * its discriminator (`type`, `op`) selects; an unknown discriminator by the list of known ones; a union without one
 * (a window) by the branch whose fields the value uses.
 */
export function explainSchemaError(error: ValueError): { field: string; message: string } {
  const field = fieldPath(error.path);
  if (error.type === ValueErrorType.StringPattern && /\bkey$/.test(field)) {
    return { field, message: 'must be letters, digits, "_" and "-" (at most 64), starting with a letter or digit' };
  }
  if (error.type !== ValueErrorType.Union) return { field, message: lowerFirst(error.message) };
  const branches = error.errors.map((b) => [...b]);
  // A union of literals (`fn`, `unit`, `state`): list them.
  const consts = branches.map((errors) => (errors[0]?.path === error.path ? errors[0].schema.const : undefined));
  if (consts.every((c) => typeof c === 'string')) {
    return { field, message: `expected one of ${consts.map((c) => JSON.stringify(c)).join(', ')}` };
  }
  const value: unknown = error.value;
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const shallow = branches.every((errors) => errors.every((e) => e.path === error.path));
  if (!isObject || shallow) {
    const what = typeof error.schema.description === 'string' ? lowerFirst(error.schema.description) : 'another type';
    return { field, message: `expected ${what}` };
  }
  for (const key of DISCRIMINATORS) {
    const pointer = `${error.path}/${key}`;
    const atKey = branches.map((errors) => errors.filter((e) => e.path === pointer));
    if (atKey.every((errors) => errors.length === 0)) continue; // not told apart by this key
    const chosen = branches.find((_, i) => atKey[i].length === 0);
    if (chosen !== undefined) return explainSchemaError(chosen[0]);
    const known = [...new Set(atKey.flat().flatMap(literals))];
    return { field: fieldPath(pointer), message: `expected one of ${known.map((k) => JSON.stringify(k)).join(', ')}` };
  }
  // No discriminator (a window): the branch whose fields the value uses, then the one with the fewest errors.
  const unexpected = (errors: ValueError[]) =>
    errors.filter((e) => e.type === ValueErrorType.ObjectAdditionalProperties).length;
  const best = branches
    .filter((b) => b.length > 0)
    .sort((a, b) => unexpected(a) - unexpected(b) || a.length - b.length)[0];
  return best === undefined ? { field, message: lowerFirst(error.message) } : explainSchemaError(best[0]);
}

/** The literal values a discriminator error's schema accepted (`"trait"`; `"gt"`, `"gte"`… for a union of them). */
function literals(error: ValueError): string[] {
  const schema = error.schema;
  if (typeof schema.const === 'string') return [schema.const];
  const anyOf = (schema.anyOf ?? []) as { const?: unknown }[];
  return anyOf.map((s) => s.const).filter((c): c is string => typeof c === 'string');
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

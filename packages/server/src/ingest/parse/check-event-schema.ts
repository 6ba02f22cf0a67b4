import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler, type ValueError, ValueErrorType } from '@sinclair/typebox/compiler';
import { CALL_SCHEMAS, type EventType } from '@tessera/protocol';

const SCHEMAS: Record<EventType, TSchema> = CALL_SCHEMAS;

/** Compiled on first use (nothing happens at import time), then reused: the schemas never change. */
const checkers = new Map<EventType, TypeCheck<TSchema>>();

function checkerFor(type: EventType): TypeCheck<TSchema> {
  let checker = checkers.get(type);
  if (!checker) {
    checker = TypeCompiler.Compile(SCHEMAS[type]);
    checkers.set(type, checker);
  }
  return checker;
}

/**
 * Checks one call against the wire schema of its type (`TrackEvent`, `IdentifyEvent`, …).
 * Returns `undefined` when it conforms, else a reason naming the first offending field as a JSON pointer and what
 * was expected, e.g. `/event: Expected string`. The reason never contains the value.
 */
export function checkEventSchema(type: EventType, value: unknown): string | undefined {
  const checker = checkerFor(type);
  if (checker.Check(value)) return undefined;
  const error = checker.Errors(value).First();
  if (!error) return '/: Does not match the schema';
  const path = error.path === '' ? '/' : error.path;
  return `${path}: ${explain(error)}`;
}

/**
 * TypeBox says "Expected union value" for unions. When the value is of a kind one member takes (a string for
 * `string | number`), that member's complaint is the useful one (`Expected string length less or equal to 512`);
 * otherwise name the accepted kinds (`Expected string, number or null`).
 */
function explain(error: ValueError): string {
  const members = (error.schema as { anyOf?: TSchema[] }).anyOf;
  if (error.type !== ValueErrorType.Union || !members) return error.message;
  const kinds = members.map((member) => (member.type === 'integer' ? 'number' : member.type));
  if (!kinds.every((kind) => typeof kind === 'string')) return error.message;
  const matching = kinds.indexOf(kindOf(error.value));
  const inner = matching >= 0 ? error.errors[matching]?.First() : undefined;
  if (inner) return inner.message;
  const unique = [...new Set(kinds as string[])];
  const last = unique.pop();
  return `Expected ${unique.length > 0 ? `${unique.join(', ')} or ${last}` : last}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

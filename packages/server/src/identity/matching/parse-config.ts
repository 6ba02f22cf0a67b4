import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { MatchConfig } from '@tessera/protocol';
import { TesseraError } from '../../errors.js';

let checker: TypeCheck<typeof MatchConfig> | undefined;

/**
 * Validates a parsed JSON value as a {@link MatchConfig}.
 *
 * @throws TesseraError `invalid_request` whose message starts with the offending field path
 *   (`fields.2.levels.0.min:`), also given as `details.field`.
 */
export function parseMatchConfig(json: unknown): MatchConfig {
  checker ??= TypeCompiler.Compile(MatchConfig);
  const error = checker.Errors(json).First();
  if (error !== undefined) {
    const { field, message } = explain(error);
    throw new TesseraError('invalid_request', `invalid match configuration: ${field}: ${message}`, {
      details: { field },
    });
  }
  const config = structuredClone(json as MatchConfig);
  const names = new Set<string>();
  config.fields.forEach((f, i) => {
    if (names.has(f.name))
      throw new TesseraError(
        'invalid_request',
        `invalid match configuration: fields.${i}.name: "${f.name}" is configured twice`,
        {
          details: { field: `fields.${i}.name` },
        },
      );
    names.add(f.name);
  });
  config.fields.forEach((f, i) => {
    f.levels?.forEach((l, k) => {
      if (l.type === 'swapped' && !names.has(l.with))
        throw new TesseraError(
          'invalid_request',
          `invalid match configuration: fields.${i}.levels.${k}.with: "${l.with}" is not a configured field`,
          { details: { field: `fields.${i}.levels.${k}.with` } },
        );
    });
  });
  if (config.thresholds && config.thresholds.review > config.thresholds.autoMerge)
    throw new TesseraError('invalid_request', 'invalid match configuration: thresholds: review exceeds autoMerge', {
      details: { field: 'thresholds' },
    });
  return config;
}

function explain(error: ValueError): { field: string; message: string } {
  const field = error.path === '' ? '(root)' : error.path.slice(1).split('/').join('.');
  if (error.type !== ValueErrorType.Union) return { field, message: lowerFirst(error.message) };
  // A union (a level): explain by the branch whose `type` matched, else list the types.
  const firsts = error.errors.map((b) => b.First()).filter((e): e is ValueError => e !== undefined);
  const deeper = firsts.find((e) => !e.path.endsWith('/type') && e.path !== error.path);
  if (deeper) return explain(deeper);
  const types = firsts.map((e) => e.schema.const).filter((v) => typeof v === 'string');
  if (types.length > 0)
    return { field: `${field}.type`, message: `expected one of ${types.map((t) => JSON.stringify(t)).join(', ')}` };
  return { field, message: lowerFirst(error.message) };
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

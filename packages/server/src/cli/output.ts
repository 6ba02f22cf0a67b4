import { readFileSync } from 'node:fs';

/** Output helpers of the management commands (`audiences`, `traits`, `destinations`…). */

/** One line (or block) on stdout, newline-terminated. */
export const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
/** One JSON document on stdout (`--json`). */
export const json = (value: unknown): void => out(JSON.stringify(value));

/** Left-aligned columns, two spaces apart (the last one is not padded). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `key: value` lines, the values aligned. */
export const fields = (rows: [string, string][]) => rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n');

/**
 * The JSON value of option `option`: inline JSON (starting with `{` or `[`), or the path of a JSON file.
 * @throws Error naming the option, and the file or the parse error.
 */
export function readJsonOption(option: string, arg: string): unknown {
  const inline = /^\s*[[{]/.test(arg);
  let text = arg;
  if (!inline) {
    try {
      text = readFileSync(arg, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
      throw new Error(`${option}: cannot read ${arg}: ${why}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${option} ${inline ? '(inline JSON)' : arg}: not valid JSON: ${(e as Error).message}`);
  }
}

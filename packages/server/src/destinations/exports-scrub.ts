import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mentionsOf } from '../privacy/mentions.js';

/** Every file under `dir`, recursively (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  let names: import('node:fs').Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const d of names) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await filesUnder(p)));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

/**
 * Removes from the files file destinations wrote under `root` every line naming one of `values` as a whole JSON
 * string or CSV field (`mentionsOf`; an erasure, DESIGN
 * §8): each such file is written again without them, to a temporary file renamed over it. The caller closes the
 * destinations' open files first (they reopen new ones). Answers how many files and lines changed.
 */
export async function scrubExports(root: string, values: readonly string[]): Promise<{ files: number; lines: number }> {
  const report = { files: 0, lines: 0 };
  if (values.length === 0) return report;
  const mentions = mentionsOf(values).line;
  for (const file of await filesUnder(root)) {
    if (file.endsWith('.scrub')) continue;
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    const kept = lines.filter((l) => !mentions(l));
    if (kept.length === lines.length) continue;
    report.lines += lines.length - kept.length;
    report.files++;
    const tmp = `${file}.scrub`;
    await writeFile(tmp, kept.join('\n'), { mode: 0o600 });
    await rename(tmp, file);
  }
  return report;
}

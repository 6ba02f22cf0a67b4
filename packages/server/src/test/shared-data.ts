import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The one way tests and benchmarks find `shared/data`: `TESSERA_SHARED_DATA`, else `../shared/data` beside the
 * repository root (DESIGN §10).
 */
export function sharedDataDir(env: Record<string, string | undefined> = process.env): string {
  if (env.TESSERA_SHARED_DATA) return path.resolve(env.TESSERA_SHARED_DATA);
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  const dir = path.resolve(repoRoot, '..', 'shared', 'data');
  if (!existsSync(dir)) throw new Error(`shared data not found at ${dir}; set TESSERA_SHARED_DATA`);
  return dir;
}

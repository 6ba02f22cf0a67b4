import { statfsSync } from 'node:fs';

/**
 * The free disk (bytes) of the file system holding `dir`, for the ingest backpressure floor (DESIGN §3): read at most
 * once every `maxAgeMs` (a `statfs` for every tracking request was 1.5 % of the main thread under load). Unreadable:
 * no floor (`Number.MAX_SAFE_INTEGER`), rather than no ingest.
 */
export function freeDiskOf(dir: string, maxAgeMs = 1000): () => number {
  let at = Number.NEGATIVE_INFINITY;
  let free = Number.MAX_SAFE_INTEGER;
  return () => {
    const now = performance.now();
    if (now - at < maxAgeMs) return free;
    at = now;
    try {
      const s = statfsSync(dir);
      free = s.bavail * s.bsize;
    } catch {
      free = Number.MAX_SAFE_INTEGER;
    }
    return free;
  };
}

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LockInfo {
  pid: number;
  url: string;
}

const LOCK = 'tessera.lock';

/** The running server named by the data directory's lock, if its process is alive. */
export function runningServer(dataDir: string): LockInfo | undefined {
  const file = path.join(dataDir, LOCK);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

/** Takes the lock for a server; throws when another live server holds it. */
export function takeLock(dataDir: string, info: LockInfo): () => void {
  const other = runningServer(dataDir);
  if (other && other.pid !== process.pid)
    throw new Error(`another Tessera (pid ${other.pid}) serves this data directory at ${other.url}`);
  const file = path.join(dataDir, LOCK);
  writeFileSync(file, JSON.stringify(info));
  return () => {
    try {
      const cur = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
      if (cur.pid === process.pid) rmSync(file);
    } catch {
      // already gone
    }
  };
}

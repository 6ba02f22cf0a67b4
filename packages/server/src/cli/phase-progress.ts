import { SingleBar } from 'cli-progress';

/**
 * A progress bar on stderr for work that goes through named phases (matching: blocking, comparing…; dedupe: loading,
 * …, applying): one bar per phase, restarted when the phase changes, stopped when `last` completes. None with
 * `--json`, `--no-progress` or when stderr is not a terminal.
 */
export function phaseProgress(
  opts: { json?: boolean; progress?: boolean },
  last: string,
): ((phase: string, done: number, total: number) => void) | undefined {
  if (opts.progress === false || opts.json || !process.stderr.isTTY) return undefined;
  const bar = new SingleBar({ format: '{phase} [{bar}] {value}/{total}', stream: process.stderr });
  let current: string | undefined;
  return (phase, done, total) => {
    if (phase !== current) {
      if (current) bar.stop();
      current = phase;
      bar.start(Math.max(total, 1), 0, { phase: phase.padEnd(10) });
    }
    bar.update(Math.min(done, total), { phase: phase.padEnd(10) });
    if (phase === last && done >= total) bar.stop();
  };
}

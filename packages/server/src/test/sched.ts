import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether util-linux's `chrt`, which sets the pipeline thread's policy, is on this machine. */
export const hasChrt = (() => {
  try {
    execFileSync('chrt', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/** The scheduling policy of thread `tid` of process `pid` (`/proc/PID/task/TID/sched`: 0 SCHED_OTHER, 5 SCHED_IDLE). */
export function schedPolicyOf(pid: number | 'self', tid: number | string): number {
  return Number(/^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'))?.[1]);
}

import { parentPort, workerData } from 'node:worker_threads';
import { isTesseraError } from '../../errors.js';
import { type MatchJob, type MatchJobMessage, runMatchJob } from './off-thread.js';

// The body of the matching thread (`matchOffThread`): one job, its progress, then its result.
const port = parentPort;
if (!port) throw new Error('match-worker.js runs as a worker thread');
const post = (m: MatchJobMessage) => port.postMessage(m);
try {
  const result = runMatchJob(workerData as MatchJob, (phase, done, total) =>
    post({ kind: 'progress', phase, done, total }),
  );
  post({ kind: 'result', result });
} catch (e) {
  post(
    isTesseraError(e)
      ? { kind: 'error', message: e.message, code: e.code }
      : { kind: 'error', message: e instanceof Error ? e.message : String(e) },
  );
}

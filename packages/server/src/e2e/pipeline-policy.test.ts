import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT, jsonLine, tessera } from '../test/cli-run.js';
import { hasChrt, schedPolicyOf } from '../test/sched.js';
import { startServe, type TesseraProcess } from '../test/tessera-process.js';

const skip =
  process.platform !== 'linux'
    ? 'thread policies are Linux only'
    : !hasChrt
      ? 'no chrt (util-linux)'
      : !BUILT
        ? 'the CLI is not built'
        : undefined;
if (skip) {
  if (process.env.CI === 'true') throw new Error(`the pipeline policy end-to-end test cannot run: ${skip}`);
  console.log(`e2e/pipeline-policy.test: skipped (${skip})`);
}

/** The scheduling policy of each thread of process `pid` (see `schedPolicyOf`). */
function policies(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => schedPolicyOf(pid, tid));
}

describe.runIf(!skip)('TESSERA_PIPELINE_POLICY=idle (built CLI, a child process)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tessera-policy-'));
  let server: TesseraProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the writer thread, and only it, at SCHED_IDLE, and the pipeline still stores what arrives', async () => {
    const dataDir = path.join(tmp, 'data');
    const { writeKey, adminToken } = jsonLine(await tessera(['init', '--json', '--data', dataDir]));
    server = await startServe(dataDir, 30_000, { TESSERA_PIPELINE_POLICY: 'idle' });
    const pid = server.proc.pid as number;
    expect(policies(pid).filter((p) => p === 5)).toHaveLength(1);
    expect(policies(pid).filter((p) => p !== 0 && p !== 5)).toEqual([]);

    const sent = await fetch(`${server.url}/v1/track`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ userId: 'idle-1', event: 'Signed Up', messageId: 'idle-m1' }),
    });
    expect(sent.status).toBe(200);
    let status = 0;
    for (const until = Date.now() + 20_000; status !== 200 && Date.now() < until; ) {
      const r = await fetch(`${server.url}/v1/profiles/by/user_id/idle-1`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      status = r.status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  }, 60_000);
});

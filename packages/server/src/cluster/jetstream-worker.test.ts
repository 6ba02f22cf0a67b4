import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { JetStreamHandle } from './jetstream.js';
import { createJetStreamWorker } from './jetstream-worker.js';

/**
 * A handle whose consumer look-up fails `failures` times the way a stream failing over answers (JetStream's 10008),
 * then finds a consumer with nothing pending. Counts the look-ups.
 */
function failingOverHandle(failures: number) {
  let calls = 0;
  const handle = {
    names: { logStream: 'LOG', pipelineConsumer: 'pipeline' },
    js: {
      consumers: {
        async get() {
          calls++;
          if (calls <= failures)
            throw Object.assign(new Error('JetStream system temporarily unavailable'), { code: 10008 });
          return {
            async fetch() {
              return {
                stop() {},
                async *[Symbol.asyncIterator]() {},
              };
            },
          };
        },
      },
    },
  } as unknown as JetStreamHandle;
  return { handle, calls: () => calls };
}

function worker(handle: JetStreamHandle, lines: string[]) {
  return createJetStreamWorker({
    handle,
    storage: {} as Storage,
    steps: [],
    batchSize: 100,
    logger: createLogger('warn', { write: (l: string) => void lines.push(l) }),
  });
}

describe('JetStream worker drain', () => {
  it('waits out a stream failing over ("temporarily unavailable"), then ends when nothing is pending', async () => {
    const { handle, calls } = failingOverHandle(3);
    const lines: string[] = [];
    await worker(handle, lines).drain();
    // Three failed look-ups, then two empty fetches.
    expect(calls()).toBe(5);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(Array(3).fill('fetch failed while draining; retrying'));
  });

  it('gives up with the error after about 30 s of failures', async () => {
    const { handle, calls } = failingOverHandle(Number.POSITIVE_INFINITY);
    const lines: string[] = [];
    await expect(worker(handle, lines).drain()).rejects.toThrow('JetStream system temporarily unavailable');
    expect(calls()).toBe(61);
  }, 60_000);
});

import type { JsMsg } from '@nats-io/jetstream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { OK, type Step } from '../pipeline/step.js';
import { DEFAULT_STEPS } from '../pipeline/steps/index.js';
import type { Storage } from '../storage/storage.js';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { encodeLogMessage, type JetStreamHandle } from './jetstream.js';
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

/** A log message as the worker sees it, counting what it was told. */
interface FakeMsg {
  seq: number;
  data: Uint8Array;
  info: { deliveryCount: number };
  told: { ack: number; nak: number; working: number; term: number };
}

/**
 * A consumer over `queue`, one message a fetch; a message handed back (`nak`) goes to the end of the queue, as
 * JetStream delivers it again after its delay while the worker has fetched the next ones meanwhile.
 */
function queueHandle(queue: FakeMsg[]) {
  const asJs = (m: FakeMsg) =>
    ({
      seq: m.seq,
      data: m.data,
      info: m.info,
      ack: () => m.told.ack++,
      nak: () => {
        m.told.nak++;
        m.info.deliveryCount++;
        queue.push(m);
      },
      working: () => m.told.working++,
      term: () => m.told.term++,
    }) as unknown as JsMsg;
  return {
    names: { logStream: 'LOG', pipelineConsumer: 'pipeline' },
    js: {
      consumers: {
        async get() {
          return {
            async fetch() {
              const next = queue.shift();
              return {
                stop() {},
                async *[Symbol.asyncIterator]() {
                  if (next) yield asJs(next);
                },
              };
            },
          };
        },
      },
    },
  } as unknown as JetStreamHandle;
}

function logMessage(seq: number, sourceId: string, call: Record<string, unknown>): FakeMsg {
  const payload = JSON.stringify({
    ...call,
    timestamp: '2026-11-01T00:00:00.000Z',
    receivedAt: '2026-11-01T00:00:00.000Z',
  });
  return {
    seq,
    data: encodeLogMessage([{ sourceId, messageId: String(call.messageId), receivedAt: Date.now(), payload }]),
    info: { deliveryCount: 1 },
    told: { ack: 0, nak: 0, working: 0, term: 0 },
  };
}

describe('JetStream worker: a store failure', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.app.close();
  });

  /** The test app's store, whose transactions fail as a deadlock would while `failing()` says so. */
  function failingStore(failing: () => boolean): Storage {
    const inner = t.app.storage;
    return Object.assign(Object.create(inner) as Storage, {
      transaction: ((fn, opts) => {
        if (failing()) return Promise.reject(Object.assign(new Error('deadlock detected'), { code: '40P01' }));
        return inner.transaction(fn, opts);
      }) as Storage['transaction'],
    });
  }

  it('runs the same batch again, holding its messages, so the calls after it wait and the log order is kept', async () => {
    const { sourceId } = t;
    const identify = logMessage(1, sourceId, {
      type: 'identify',
      userId: 'u1',
      messageId: 'i1',
      traits: { plan: 'gold' },
    });
    const track = logMessage(2, sourceId, { type: 'track', userId: 'u1', messageId: 't1', event: 'E' });
    const order: string[] = [];
    const record: Step = {
      name: 'record',
      run(ctx) {
        order.push(ctx.entry.messageId);
        return OK;
      },
    };
    let attempts = 0;
    const lines: string[] = [];
    const w = createJetStreamWorker({
      handle: queueHandle([identify, track]),
      storage: failingStore(() => ++attempts === 1),
      steps: [...DEFAULT_STEPS, record],
      batchSize: 1,
      logger: createLogger('warn', { write: (l: string) => void lines.push(l) }),
    });
    await w.drain();
    // Handed back, the identify would have come after the track (the queue's end).
    expect(order).toEqual(['i1', 't1']);
    expect(identify.told).toMatchObject({ ack: 1, nak: 0, term: 0 });
    expect(identify.told.working).toBeGreaterThanOrEqual(1);
    expect(track.told).toMatchObject({ ack: 1, nak: 0 });
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['worker batch failed; running it again']);
  });

  it('hands the batch back at once when the worker stops while the store fails', async () => {
    const { sourceId } = t;
    const msg = logMessage(1, sourceId, { type: 'track', userId: 'u1', messageId: 't1', event: 'E' });
    let attempts = 0;
    const w = createJetStreamWorker({
      handle: queueHandle([msg]),
      storage: failingStore(() => ++attempts > 0),
      steps: DEFAULT_STEPS,
      batchSize: 1,
      logger: createLogger('silent', { write: () => {} }),
    });
    w.start();
    // Pauses of 200, 400, 800 and 1,600 ms between the attempts.
    while (attempts < 5) await new Promise((r) => setTimeout(r, 50));
    const stopping = performance.now();
    await w.stop();
    // The 3.2 s pause before the sixth attempt is cut short, and that attempt is not made.
    expect(performance.now() - stopping).toBeLessThan(1500);
    expect(attempts).toBe(5);
    expect(msg.told).toMatchObject({ ack: 0, nak: 1, term: 0 });
    expect(msg.told.working).toBeGreaterThanOrEqual(5);
  });
});

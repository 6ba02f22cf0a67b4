import { describe, expect, it } from 'vitest';
import { whileForming } from './jetstream.js';

/** An error as @nats-io/jetstream throws it for a JetStream API answer (`code` is the answer's `err_code`). */
const apiError = (code: number, description: string) =>
  Object.assign(new Error(description), { name: 'JetStreamApiError', code });

describe('whileForming: stream set-up while the NATS cluster forms', () => {
  it.each([
    ['too few peers to place (10005)', apiError(10005, 'no suitable peers for placement')],
    ['no meta leader yet (10008)', apiError(10008, 'JetStream system temporarily unavailable')],
    ['the same answer without a code', new Error('JetStream system temporarily unavailable')],
    ['no answer (the client times out)', Object.assign(new Error('timeout'), { name: 'TimeoutError' })],
  ])('tries again after %s, and returns the answer that follows', async (_what, error) => {
    let calls = 0;
    const result = await whileForming(
      async () => {
        calls++;
        if (calls < 3) throw error;
        return 'created';
      },
      { waitMs: 1 },
    );
    expect(result).toBe('created');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    const error = apiError(10058, 'stream name already in use with a different configuration');
    await expect(
      whileForming(
        async () => {
          calls++;
          throw error;
        },
        { waitMs: 1 },
      ),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('gives up after `formingMs`, with the last answer', async () => {
    let now = 0;
    let calls = 0;
    const error = apiError(10005, 'no suitable peers for placement');
    await expect(
      whileForming(
        async () => {
          calls++;
          now += 10_000;
          throw error;
        },
        { formingMs: 30_000, waitMs: 1, now: () => now },
      ),
    ).rejects.toBe(error);
    expect(calls).toBe(3);
  });
});

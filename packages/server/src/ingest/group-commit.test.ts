import { describe, expect, it } from 'vitest';
import { createGroupCommit } from './group-commit.js';
import type { LogEntryInput } from './logged-event.js';

const entry = (messageId: string): LogEntryInput => ({ sourceId: 's', messageId, receivedAt: 1, payload: '{}' });

describe('createGroupCommit', () => {
  it('commits concurrent requests together', async () => {
    const writes: number[] = [];
    const append = createGroupCommit(async (req) => {
      writes.push(req.log.length);
      return { lastPosition: req.log.length };
    });
    await Promise.all([
      append({ log: [entry('a')] }),
      append({ log: [entry('b'), entry('c')] }),
      append({ log: [entry('d')] }),
    ]);
    expect(writes).toEqual([4]);
  });

  it('when a group fails, writes each request alone so one bad request fails only itself (regression)', async () => {
    const append = createGroupCommit(async (req) => {
      if (req.log.some((e) => e.messageId === 'bad')) throw new Error('rejected by the store');
      return { lastPosition: req.log.length };
    });
    const results = await Promise.allSettled([
      append({ log: [entry('a')] }),
      append({ log: [entry('bad')] }),
      append({ log: [entry('c')] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

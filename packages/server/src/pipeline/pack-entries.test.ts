import { describe, expect, it } from 'vitest';
import { packEntries, unpackEntries } from './pack-entries.js';

describe('packEntries', () => {
  it('round-trips entries, rejections, unicode and escaped newlines', () => {
    const entries = [
      {
        sourceId: 's1',
        messageId: 'a\nb',
        receivedAt: 1,
        payload: JSON.stringify({ t: 'line\nbreak', z: 'Zoë ✓' }),
        rejection: null,
      },
      {
        sourceId: 's2',
        messageId: 'c',
        receivedAt: 2,
        payload: '{"event":5}',
        rejection: { code: 'schema_invalid', reason: '/event' },
      },
    ];
    expect(unpackEntries(packEntries(entries))).toEqual(entries);
    expect(unpackEntries(packEntries([]))).toEqual([]);
  });
});

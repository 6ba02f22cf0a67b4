import { describe, expect, it } from 'vitest';
import { type EventTimeInput, resolveEventTime } from './resolve-event-time.js';

const RECEIVED = new Date('2024-03-01T12:00:00.000Z');

describe('resolveEventTime', () => {
  it.each<[string, EventTimeInput, string | undefined, string, string | undefined]>([
    // name, event fields, batch sentAt, expected timestamp, expected sentAt
    ['no time at all → receivedAt', {}, undefined, '2024-03-01T12:00:00.000Z', undefined],
    ['nulls are absent', { timestamp: null, sentAt: null }, undefined, '2024-03-01T12:00:00.000Z', undefined],
    [
      'timestamp only → as given',
      { timestamp: '2024-03-01T10:00:00Z' },
      undefined,
      '2024-03-01T10:00:00.000Z',
      undefined,
    ],
    [
      'client clock 10 s ahead → shifted back 10 s',
      { timestamp: '2024-03-01T12:00:05Z', sentAt: '2024-03-01T12:00:10Z' },
      undefined,
      '2024-03-01T11:59:55.000Z',
      '2024-03-01T12:00:10Z',
    ],
    [
      'client clock 1 h behind, sent 2 s after the call',
      { timestamp: '2024-03-01T10:59:58Z', sentAt: '2024-03-01T11:00:00Z' },
      undefined,
      '2024-03-01T11:59:58.000Z',
      '2024-03-01T11:00:00Z',
    ],
    [
      'originalTimestamp wins over timestamp (RudderStack)',
      { originalTimestamp: '2024-03-01T12:00:00Z', timestamp: '2000-01-01T00:00:00Z', sentAt: '2024-03-01T12:00:30Z' },
      undefined,
      '2024-03-01T11:59:30.000Z',
      '2024-03-01T12:00:30Z',
    ],
    [
      'batch sentAt used when the event has none',
      { timestamp: '2024-03-01T12:00:00Z' },
      '2024-03-01T12:00:10Z',
      '2024-03-01T11:59:50.000Z',
      '2024-03-01T12:00:10Z',
    ],
    [
      "the event's sentAt wins over the batch's",
      { timestamp: '2024-03-01T12:00:00Z', sentAt: '2024-03-01T12:00:01Z' },
      '2024-03-01T12:00:10Z',
      '2024-03-01T11:59:59.000Z',
      '2024-03-01T12:00:01Z',
    ],
    [
      'sentAt without a base → receivedAt',
      { sentAt: '2024-03-01T12:00:10Z' },
      undefined,
      '2024-03-01T12:00:00.000Z',
      '2024-03-01T12:00:10Z',
    ],
    [
      'zones are honoured',
      { timestamp: '2024-03-01T13:00:05+01:00', sentAt: '2024-03-01T12:00:10Z' },
      undefined,
      '2024-03-01T11:59:55.000Z',
      '2024-03-01T12:00:10Z',
    ],
  ])('%s', (_name, event, batchSentAt, timestamp, sentAt) => {
    const result = resolveEventTime(event, RECEIVED, batchSentAt);
    expect(result).toEqual({ ok: true, timestamp: Date.parse(timestamp), sentAt });
  });

  it.each<[string, EventTimeInput, string | undefined, string]>([
    ['bad timestamp', { timestamp: 'yesterday' }, undefined, 'timestamp'],
    ['bad originalTimestamp', { originalTimestamp: '2024-02-30T00:00:00Z' }, undefined, 'originalTimestamp'],
    ['bad sentAt', { timestamp: '2024-03-01T12:00:00Z', sentAt: 'now' }, undefined, 'sentAt'],
    ['bad but unused timestamp', { originalTimestamp: '2024-03-01T12:00:00Z', timestamp: 'x' }, undefined, 'timestamp'],
    ['bad batch sentAt', { timestamp: '2024-03-01T12:00:00Z' }, 'soon', 'batch sentAt'],
  ])('names the field of a %s', (_name, event, batchSentAt, field) => {
    expect(resolveEventTime(event, RECEIVED, batchSentAt)).toEqual({ ok: false, field });
  });

  it('ignores a bad batch sentAt when the event has its own', () => {
    const result = resolveEventTime({ sentAt: '2024-03-01T12:00:00Z' }, RECEIVED, 'soon');
    expect(result.ok).toBe(true);
  });

  it.each<[string, EventTimeInput, string | undefined]>([
    ['canonical and unchanged', { timestamp: '2024-03-01T11:00:00.000Z' }, '2024-03-01T11:00:00.000Z'],
    ['canonical originalTimestamp', { originalTimestamp: '2024-03-01T11:00:00.000Z' }, '2024-03-01T11:00:00.000Z'],
    ['not canonical (no ms)', { timestamp: '2024-03-01T11:00:00Z' }, undefined],
    ['not canonical (offset)', { timestamp: '2024-03-01T12:00:00.000+01:00' }, undefined],
    ['a leap second', { timestamp: '2016-12-31T23:59:60.000Z' }, undefined],
    ['corrected by sentAt', { timestamp: '2024-03-01T11:00:00.000Z', sentAt: '2024-03-01T11:00:05.000Z' }, undefined],
  ])('gives the timestamp text to reuse only when it is %s', (_name, event, text) => {
    const result = resolveEventTime(event, RECEIVED);
    if (!result.ok) throw new Error('expected a time');
    expect(result.timestampText).toBe(text);
    if (text !== undefined) expect(new Date(result.timestamp).toISOString()).toBe(text);
  });
});

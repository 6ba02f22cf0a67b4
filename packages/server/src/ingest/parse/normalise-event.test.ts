import { type EventType, TRACKING_LIMITS } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { type NormaliseContext, type NormaliseResult, normaliseEvent } from './normalise-event.js';

const RECEIVED = new Date('2024-03-01T12:00:00.000Z');

function ctx(extra: Partial<NormaliseContext> = {}): NormaliseContext {
  return { receivedAt: RECEIVED, generateMessageId: () => 'generated-id', ...extra };
}

function accepted(result: NormaliseResult) {
  if (!result.ok) throw new Error(`expected an accepted event, got ${result.code}: ${result.reason}`);
  return JSON.parse(result.json) as Record<string, unknown>;
}

/** A valid call of each type, to break one field at a time. */
const VALID: Record<EventType, Record<string, unknown>> = {
  track: { type: 'track', event: 'Signed Up', userId: 'u1' },
  identify: { type: 'identify', userId: 'u1', traits: { email: 'a@example.com' } },
  page: { type: 'page', name: 'Home', anonymousId: 'a1' },
  screen: { type: 'screen', name: 'Home', anonymousId: 'a1' },
  group: { type: 'group', groupId: 'g1', userId: 'u1' },
  alias: { type: 'alias', previousId: 'a1', userId: 'u1' },
};

/** `{"a":{"a":…1}}` with `depth` objects. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const SECRET = 'SECRET-VALUE';

describe('normaliseEvent: accepted calls', () => {
  it.each(Object.entries(VALID))('accepts a minimal %s call', (type, raw) => {
    const event = accepted(normaliseEvent(raw, ctx()));
    expect(event.type).toBe(type);
    expect(event.messageId).toBe('generated-id');
    expect(event.timestamp).toBe(RECEIVED.toISOString());
    expect(event.receivedAt).toBe(RECEIVED.toISOString());
  });

  it('keeps every field, strips writeKey and does not modify the input', () => {
    const raw = {
      ...VALID.identify,
      messageId: 'm1',
      writeKey: 'wk_secret',
      context: { traits: { plan: 'pro' }, ip: '1.2.3.4' },
      integrations: { All: true },
      custom: { nested: [1, 2] },
    };
    const copy = structuredClone(raw);
    const result = normaliseEvent(raw, ctx({ batchContext: { library: { name: 'x' } } }));
    const event = accepted(result);
    expect(event).toEqual({
      type: 'identify',
      userId: 'u1',
      traits: { email: 'a@example.com' },
      messageId: 'm1',
      context: { library: { name: 'x' }, traits: { plan: 'pro' }, ip: '1.2.3.4' },
      integrations: { All: true },
      custom: { nested: [1, 2] },
      timestamp: '2024-03-01T12:00:00.000Z',
      receivedAt: '2024-03-01T12:00:00.000Z',
    });
    expect(raw).toEqual(copy);
  });

  it("merges the batch context under the event's (the event wins)", () => {
    const raw = { ...VALID.track, context: { locale: 'fr-FR', page: { path: '/a' } } };
    const batchContext = { locale: 'en-US', library: { name: 'analytics-node' }, page: { title: 'T' } };
    expect(accepted(normaliseEvent(raw, ctx({ batchContext }))).context).toEqual({
      locale: 'fr-FR',
      library: { name: 'analytics-node' },
      page: { path: '/a' },
    });
    expect(accepted(normaliseEvent(VALID.track, ctx({ batchContext }))).context).toEqual(batchContext);
  });

  it.each([
    ['userId', { ...VALID.track, userId: 42 }, { userId: '42' }],
    ['anonymousId', { ...VALID.page, anonymousId: 7 }, { anonymousId: '7' }],
    ['groupId', { ...VALID.group, groupId: 123 }, { groupId: '123' }],
    ['previousId', { ...VALID.alias, previousId: 9, userId: 10 }, { previousId: '9', userId: '10' }],
    ['messageId', { ...VALID.track, messageId: 12345 }, { messageId: '12345' }],
  ])('turns a numeric %s into a string', (_field, raw, expected) => {
    expect(accepted(normaliseEvent(raw, ctx()))).toMatchObject(expected);
  });

  it.each([
    ['an empty userId', { ...VALID.track, userId: '', anonymousId: 'a1' }],
    ['a null userId', { ...VALID.track, userId: null, anonymousId: 'a1' }],
    ['a blank userId', { ...VALID.track, userId: '  ', anonymousId: 'a1' }],
  ])('drops %s', (_name, raw) => {
    const event = accepted(normaliseEvent(raw, ctx()));
    expect(event).not.toHaveProperty('userId');
    expect(event.anonymousId).toBe('a1');
  });

  it('keeps name from the top-level field only and drops a null name', () => {
    expect(accepted(normaliseEvent({ ...VALID.page, properties: { name: 'P' } }, ctx())).name).toBe('Home');
    const unnamed = accepted(normaliseEvent({ ...VALID.screen, name: null, properties: { name: 'P' } }, ctx()));
    expect(unnamed).not.toHaveProperty('name');
  });

  it('takes the type from the path, and accepts a body that agrees', () => {
    const { type: _, ...body } = VALID.track;
    expect(accepted(normaliseEvent(body, ctx({ typeFromPath: 'track' }))).type).toBe('track');
    expect(accepted(normaliseEvent(VALID.track, ctx({ typeFromPath: 'track' }))).type).toBe('track');
  });

  it('accepts an event exactly at the depth limit', () => {
    const raw = { ...VALID.track, properties: nested(TRACKING_LIMITS.maxDepth - 1) };
    expect(normaliseEvent(raw, ctx()).ok).toBe(true);
  });
});

describe('normaliseEvent: time', () => {
  it.each([
    ['no time → receivedAt', {}, undefined, { timestamp: '2024-03-01T12:00:00.000Z' }],
    [
      'sentAt 10 s ahead of the server → shifted back 10 s',
      { timestamp: '2024-03-01T12:00:05.000Z', sentAt: '2024-03-01T12:00:10.000Z' },
      undefined,
      {
        timestamp: '2024-03-01T11:59:55.000Z',
        originalTimestamp: '2024-03-01T12:00:05.000Z',
        sentAt: '2024-03-01T12:00:10.000Z',
      },
    ],
    [
      'RudderStack originalTimestamp with the batch sentAt',
      { originalTimestamp: '2024-03-01T13:00:00+01:00' },
      '2024-03-01T12:00:30Z',
      {
        timestamp: '2024-03-01T11:59:30.000Z',
        originalTimestamp: '2024-03-01T13:00:00+01:00',
        sentAt: '2024-03-01T12:00:30Z',
      },
    ],
    [
      'timestamp without sentAt → as given',
      { timestamp: '2024-02-01T00:00:00Z' },
      undefined,
      { timestamp: '2024-02-01T00:00:00.000Z', originalTimestamp: '2024-02-01T00:00:00Z' },
    ],
  ])('%s', (_name, fields, sentAt, expected) => {
    const event = accepted(normaliseEvent({ ...VALID.track, ...fields }, ctx({ sentAt })));
    expect(event).toMatchObject({ ...expected, receivedAt: '2024-03-01T12:00:00.000Z' });
  });

  it('gives the same result when a logged event is normalised again', () => {
    const raw = { ...VALID.track, messageId: 'm', timestamp: '2024-03-01T12:00:05Z', sentAt: '2024-03-01T12:00:10Z' };
    const once = accepted(normaliseEvent(raw, ctx()));
    expect(accepted(normaliseEvent(once, ctx()))).toEqual(once);
  });

  it.each([
    ['timestamp', { timestamp: 'yesterday' }, undefined],
    ['originalTimestamp', { originalTimestamp: '2024-02-30T00:00:00Z' }, undefined],
    ['sentAt', { sentAt: 'March 1, 2024' }, undefined],
    ['batch sentAt', { timestamp: '2024-03-01T12:00:00Z' }, 'soon'],
  ])('quarantines an unparsable %s as invalid_timestamp, naming it', (field, fields, sentAt) => {
    const result = normaliseEvent({ ...VALID.track, messageId: 'm1', ...fields }, ctx({ sentAt }));
    expect(result).toEqual({
      ok: false,
      code: 'invalid_timestamp',
      reason: `${field}: Expected an ISO 8601 date-time`,
      messageId: 'm1',
    });
  });
});

describe('normaliseEvent: quarantined calls', () => {
  it.each<[string, unknown, string]>([
    ['an array', [VALID.track], '/: Expected object'],
    ['a string', 'track', '/: Expected object'],
    ['null', null, '/: Expected object'],
    ['a missing type', { event: 'x', userId: 'u1' }, '/type: Expected required property'],
    [
      'an unknown type',
      { ...VALID.track, type: 'purchase' },
      '/type: Expected one of track, identify, page, screen, group, alias',
    ],
    [
      'a numeric type',
      { ...VALID.track, type: 1 },
      '/type: Expected one of track, identify, page, screen, group, alias',
    ],
    ['track without event', { type: 'track', userId: 'u1' }, '/event: Expected required property'],
    ['track with a numeric event', { ...VALID.track, event: 5 }, '/event: Expected string'],
    [
      'track with an empty event',
      { ...VALID.track, event: '' },
      '/event: Expected string length greater or equal to 1',
    ],
    [
      'track with a long event',
      { ...VALID.track, event: SECRET.repeat(60) },
      '/event: Expected string length less or equal to 512',
    ],
    ['properties as an array', { ...VALID.track, properties: [SECRET] }, '/properties: Expected object'],
    ['properties as a string', { ...VALID.page, properties: SECRET }, '/properties: Expected object'],
    ['traits as a string', { ...VALID.identify, traits: SECRET }, '/traits: Expected object'],
    ['context as a string', { ...VALID.track, context: SECRET }, '/context: Expected object'],
    ['integrations as a number', { ...VALID.track, integrations: 1 }, '/integrations: Expected object'],
    ['userId as an object', { ...VALID.track, userId: { id: SECRET } }, '/userId: Expected string, number or null'],
    [
      'a long userId',
      { ...VALID.track, userId: SECRET.repeat(50) },
      '/userId: Expected string length less or equal to 512',
    ],
    ['anonymousId as a boolean', { ...VALID.page, anonymousId: true }, '/anonymousId: Expected string, number or null'],
    [
      'an empty messageId',
      { ...VALID.track, messageId: '' },
      '/messageId: Expected string length greater or equal to 1',
    ],
    ['messageId as an object', { ...VALID.track, messageId: {} }, '/messageId: Expected string or number'],
    ['timestamp as a number', { ...VALID.track, timestamp: 1709294400 }, '/timestamp: Expected string or null'],
    [
      'a long sentAt',
      { ...VALID.track, sentAt: SECRET.repeat(10) },
      '/sentAt: Expected string length less or equal to 64',
    ],
    [
      'originalTimestamp as an object',
      { ...VALID.track, originalTimestamp: {} },
      '/originalTimestamp: Expected string or null',
    ],
    ['writeKey as a number', { ...VALID.track, writeKey: 1 }, '/writeKey: Expected string'],
    ['page with a numeric name', { ...VALID.page, name: 5 }, '/name: Expected string or null'],
    ['screen with an array category', { ...VALID.screen, category: [SECRET] }, '/category: Expected string or null'],
    ['group without groupId', { type: 'group', userId: 'u1' }, '/groupId: Expected required property'],
    ['group with a null groupId', { ...VALID.group, groupId: null }, '/groupId: Expected string or number'],
    [
      'group with an empty groupId',
      { ...VALID.group, groupId: '' },
      '/groupId: Expected string length greater or equal to 1',
    ],
    ['group with a blank groupId', { ...VALID.group, groupId: '   ' }, '/groupId: Expected a non-blank string'],
    ['alias without previousId', { type: 'alias', userId: 'u1' }, '/previousId: Expected required property'],
  ])('quarantines %s as schema_invalid, naming the field but not the value', (_name, raw, reason) => {
    const result = normaliseEvent(raw, ctx());
    expect(result).toMatchObject({ ok: false, code: 'schema_invalid', reason });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it.each<[string, EventType, EventType | undefined, string]>([
    ['page body on /v1/track', 'track', 'page', '/type: "page" does not match the endpoint /v1/track'],
    ['identify body on /v1/alias', 'alias', 'identify', '/type: "identify" does not match the endpoint /v1/alias'],
  ])('quarantines a %s as schema_invalid', (_name, typeFromPath, bodyType, reason) => {
    const result = normaliseEvent({ ...VALID[bodyType ?? typeFromPath], messageId: 'm1' }, ctx({ typeFromPath }));
    expect(result).toEqual({ ok: false, code: 'schema_invalid', reason, messageId: 'm1' });
  });

  it('does not echo an unknown body type that conflicts with the path', () => {
    const result = normaliseEvent({ ...VALID.track, type: SECRET }, ctx({ typeFromPath: 'track' }));
    expect(result).toMatchObject({
      ok: false,
      code: 'schema_invalid',
      reason: '/type: the type in the body does not match the endpoint /v1/track',
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'track without ids',
      { type: 'track', event: 'x' },
      'userId, anonymousId, or another identifier (e-mail, phone, externalIds) is required',
    ],
    [
      'identify with empty ids',
      { type: 'identify', userId: '', anonymousId: '' },
      'userId, anonymousId, or another identifier (e-mail, phone, externalIds) is required',
    ],
    [
      'page with null ids',
      { type: 'page', userId: null, anonymousId: null },
      'userId, anonymousId, or another identifier (e-mail, phone, externalIds) is required',
    ],
    [
      'screen with a blank anonymousId',
      { type: 'screen', anonymousId: ' ' },
      'userId, anonymousId, or another identifier (e-mail, phone, externalIds) is required',
    ],
    [
      'group without ids',
      { type: 'group', groupId: 'g1' },
      'userId, anonymousId, or another identifier (e-mail, phone, externalIds) is required',
    ],
    [
      'alias without userId',
      { type: 'alias', previousId: 'a1', anonymousId: 'a1' },
      'alias needs previousId and userId',
    ],
    [
      'alias with a blank previousId',
      { type: 'alias', previousId: ' ', userId: 'u1' },
      'alias needs previousId and userId',
    ],
  ])('quarantines %s as missing_identity', (_name, raw, reason) => {
    expect(normaliseEvent(raw, ctx())).toEqual({ ok: false, code: 'missing_identity', reason, messageId: null });
  });

  it.each<[string, Record<string, unknown>, Partial<NormaliseContext>, string]>([
    ['a depth-40 event', { ...VALID.track, properties: nested(39) }, {}, 'too_deep'],
    ['one level too deep', { ...VALID.track, properties: nested(TRACKING_LIMITS.maxDepth) }, {}, 'too_deep'],
    [
      'too many keys',
      {
        ...VALID.track,
        properties: Object.fromEntries(Array.from({ length: TRACKING_LIMITS.maxKeys }, (_, i) => [`k${i}`, i])),
      },
      {},
      'too_many_keys',
    ],
    ['a 33 KB event', { ...VALID.track, properties: { blob: 'x'.repeat(33 * 1024) } }, {}, 'event_too_large'],
    [
      'a batch context that makes the event too large',
      { ...VALID.track, properties: { blob: 'x'.repeat(20 * 1024) } },
      { batchContext: { blob: 'y'.repeat(20 * 1024) } },
      'event_too_large',
    ],
  ])('quarantines %s', (_name, raw, extra, code) => {
    const result = normaliseEvent({ ...raw, messageId: 7 }, ctx(extra));
    expect(result).toMatchObject({ ok: false, code, messageId: '7' });
  });

  it('never generates a messageId for a quarantined event', () => {
    let calls = 0;
    const result = normaliseEvent({ type: 'track' }, ctx({ generateMessageId: () => `id-${++calls}` }));
    expect(result).toMatchObject({ ok: false, messageId: null });
    expect(calls).toBe(0);
  });
});

describe('normaliseEvent: calls named by another identifier (imports, webhooks)', () => {
  it.each([
    ['identify with traits.email', { type: 'identify', traits: { email: 'a@example.com' } }],
    ['track with context.traits.phone', { type: 'track', event: 'X', context: { traits: { phone: '+33612345678' } } }],
    ['identify with externalIds', { type: 'identify', context: { externalIds: [{ type: 'crm_id', id: 'C-1' }] } }],
  ])('accepts %s', (_name, raw) => {
    expect(normaliseEvent(raw, ctx()).ok).toBe(true);
  });

  it.each([
    ['a blank e-mail', { type: 'identify', traits: { email: '  ' } }],
    ['an empty externalIds', { type: 'identify', context: { externalIds: [] } }],
  ])('still refuses %s', (_name, raw) => {
    expect(normaliseEvent(raw, ctx())).toMatchObject({ ok: false, code: 'missing_identity' });
  });
});

describe('normaliseEvent: U+0000 in ids', () => {
  it.each(['messageId', 'userId', 'anonymousId', 'event'])('refuses it in %s', (field) => {
    const raw = { type: 'track', event: 'E', userId: 'u', messageId: 'm', [field]: 'a\u0000b' };
    expect(normaliseEvent(raw, ctx())).toMatchObject({
      ok: false,
      code: 'schema_invalid',
      reason: `/${field}: must not contain U+0000`,
    });
  });

  it('keeps a `__proto__` member as data, never as the prototype', () => {
    const raw = JSON.parse('{"type":"track","event":"E","userId":"u1","__proto__":{"polluted":true}}');
    const result = normaliseEvent(raw, ctx());
    if (!result.ok) throw new Error(result.reason);
    expect(result.json).toContain('"__proto__":{"polluted":true}');
    expect(Object.getPrototypeOf(JSON.parse(result.json))).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

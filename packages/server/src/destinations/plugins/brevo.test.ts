import { afterEach, describe, expect, it } from 'vitest';
import type { SendOutcome, SendResult } from '../plugin.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type StandInHandler, startStandIn } from '../test/stand-in.js';
import { type BrevoConfig, brevoDestination } from './brevo.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setUp(handler: StandInHandler, config: Partial<BrevoConfig> = {}) {
  const standIn = await startStandIn(handler);
  const { ctx, close } = testSendContext<BrevoConfig>({ apiKey: 'xkeysib-test', baseUrl: standIn.url, ...config });
  cleanups.push(close, standIn.close);
  return { standIn, ctx };
}

function eachOf(outcome: SendOutcome): ReadonlyMap<string, SendResult> {
  if (outcome.kind !== 'each') throw new Error(`expected each, got ${JSON.stringify(outcome)}`);
  return outcome.results;
}

const entered = (key: string, email: string, entered = true) =>
  testMessage({
    kind: 'audience',
    identifiers: { email },
    audience: { key, name: key, entered },
  });

describe('brevo profiles', () => {
  it('upserts a contact with the mapped attributes and the api-key header', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 201, body: { id: 42 } }));
    const message = testMessage({ identifiers: { email: 'ada@example.com', phone: '+33612345678' } });
    expect(await brevoDestination.send([message], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(1);
    const [call] = standIn.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/v3/contacts');
    expect(call.headers['api-key']).toBe('xkeysib-test');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.json).toEqual({
      email: 'ada@example.com',
      attributes: { FIRSTNAME: 'Ada', LASTNAME: 'Lovelace', SMS: '+33612345678' },
      updateEnabled: true,
    });
  });

  it('uses the configured attribute names and leaves out traits the profile lacks', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 204 }), {
      attributes: { plan: 'PLAN', birthday: 'BIRTHDAY' },
    });
    expect(await brevoDestination.send([testMessage({ identifiers: { email: 'a@example.com' } })], ctx)).toEqual({
      kind: 'ok',
    });
    expect(standIn.calls[0].json).toEqual({
      email: 'a@example.com',
      attributes: { PLAN: 'gold' },
      updateEnabled: true,
    });
  });

  it('drops a message without an e-mail and sends the others', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 201, body: { id: 1 } }));
    const without = testMessage({ identifiers: { userId: 'u1' } });
    const withEmail = testMessage({ identifiers: { email: 'b@example.com' } });
    const results = eachOf(await brevoDestination.send([without, withEmail], ctx));
    expect(results.get(without.id)).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/no e-mail/) });
    expect(results.has(withEmail.id)).toBe(false);
    expect(standIn.calls.map((c) => (c.json as { email: string }).email)).toEqual(['b@example.com']);
  });

  it('drops the contact Brevo refuses with its code and message, and delivers the other', async () => {
    const { ctx } = await setUp((call) =>
      (call.json as { email: string }).email === 'dup@example.com'
        ? {
            status: 400,
            body: {
              code: 'duplicate_parameter',
              message: 'Unable to update contact, SMS is already associated with another Contact',
            },
          }
        : { status: 201, body: { id: 7 } },
    );
    const bad = testMessage({ identifiers: { email: 'dup@example.com' } });
    const good = testMessage({ identifiers: { email: 'ok@example.com' } });
    const results = eachOf(await brevoDestination.send([bad, good], ctx));
    expect(results.get(bad.id)).toEqual({
      kind: 'drop',
      status: 400,
      reason:
        'brevo POST /v3/contacts: HTTP 400 duplicate_parameter: Unable to update contact, SMS is already associated with another Contact',
    });
    expect(results.size).toBe(1);
  });

  it('masks an e-mail address Brevo quotes in its message', async () => {
    const { ctx } = await setUp(() => ({
      status: 400,
      body: { code: 'invalid_parameter', message: 'Invalid email address bad@example' },
    }));
    const outcome = await brevoDestination.send([testMessage({ identifiers: { email: 'bad@example' } })], ctx);
    expect(outcome).toMatchObject({ kind: 'drop' });
    expect((outcome as { reason: string }).reason).not.toContain('bad@example');
    expect((outcome as { reason: string }).reason).toContain('<e-mail>');
  });
});

describe('brevo events', () => {
  it('posts the event with a name Brevo accepts, its date and properties', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 204 }));
    const message = testMessage({
      kind: 'event',
      identifiers: { email: 'ada@example.com' },
      event: {
        id: 'e1',
        type: 'track',
        name: 'Order Completed!',
        messageId: 'm1',
        timestamp: Date.UTC(2026, 10, 1, 12, 0, 0),
        properties: { total: 42, currency: 'EUR' },
        traits: null,
        context: null,
      },
    });
    expect(await brevoDestination.send([message], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls[0].path).toBe('/v3/events');
    expect(standIn.calls[0].json).toEqual({
      event_name: 'Order_Completed_',
      event_date: '2026-11-01T12:00:00.000Z',
      identifiers: { email_id: 'ada@example.com' },
      event_properties: { total: 42, currency: 'EUR' },
    });
  });
});

describe('brevo audiences', () => {
  it('adds entries and removes exits with one list call each', async () => {
    const { standIn, ctx } = await setUp(
      (call) => ({
        status: 201,
        body: { contacts: { success: (call.json as { emails: string[] }).emails, failure: [] } },
      }),
      { lists: { vip: 12 } },
    );
    const batch = [
      entered('vip', 'a@example.com'),
      entered('vip', 'b@example.com'),
      entered('vip', 'c@example.com', false),
    ];
    expect(await brevoDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls.map((c) => [c.method, c.path, c.json])).toEqual([
      ['POST', '/v3/contacts/lists/12/contacts/add', { emails: ['a@example.com', 'b@example.com'] }],
      ['POST', '/v3/contacts/lists/12/contacts/remove', { emails: ['c@example.com'] }],
    ]);
    expect(standIn.calls[0].headers['api-key']).toBe('xkeysib-test');
  });

  it('creates in the list a person Brevo could not add (not a contact yet)', async () => {
    const { standIn, ctx } = await setUp(
      (call) =>
        call.path === '/v3/contacts'
          ? { status: 201, body: { id: 9 } }
          : { status: 201, body: { contacts: { success: ['a@example.com'], failure: ['new@example.com'] } } },
      { lists: { vip: 12 } },
    );
    const batch = [entered('vip', 'a@example.com'), entered('vip', 'New@example.com')];
    expect(await brevoDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(2);
    expect(standIn.calls[1].path).toBe('/v3/contacts');
    expect(standIn.calls[1].json).toEqual({ email: 'New@example.com', listIds: [12], updateEnabled: true });
  });

  it('reads "already in list and/or does not exist" as: create the entries, the exits are done', async () => {
    const { standIn, ctx } = await setUp(
      (call) =>
        call.path === '/v3/contacts'
          ? { status: 204 }
          : {
              status: 400,
              body: {
                code: 'invalid_parameter',
                message: call.path.endsWith('/add')
                  ? 'Contact already in list and/or does not exist'
                  : 'Contact already removed from list and/or does not exist',
              },
            },
      { lists: { vip: 12 } },
    );
    const batch = [entered('vip', 'a@example.com'), entered('vip', 'gone@example.com', false)];
    expect(await brevoDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls.map((c) => c.path)).toEqual([
      '/v3/contacts/lists/12/contacts/add',
      '/v3/contacts',
      '/v3/contacts/lists/12/contacts/remove',
    ]);
  });

  it('sends only the newest change of a membership', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 201, body: { contacts: { success: [], failure: [] } } }), {
      lists: { vip: 12 },
    });
    const enter = { ...entered('vip', 'a@example.com'), at: 1000 };
    const exit = { ...entered('vip', 'a@example.com', false), at: 2000 };
    expect(await brevoDestination.send([exit, enter], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls.map((c) => c.path)).toEqual(['/v3/contacts/lists/12/contacts/remove']);
  });

  it('drops an audience that has no list in the config', async () => {
    const { standIn, ctx } = await setUp(() => ({ status: 201, body: {} }), { lists: { vip: 12 } });
    const outcome = await brevoDestination.send([entered('churned', 'a@example.com')], ctx);
    expect(outcome).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/no Brevo list .* churned/) });
    expect(standIn.calls).toHaveLength(0);
  });
});

describe('brevo failures', () => {
  it('retries a 429 after x-sib-ratelimit-reset and makes no further call', async () => {
    const { standIn, ctx } = await setUp(
      () => ({
        status: 429,
        headers: { 'x-sib-ratelimit-reset': '7' },
        body: { code: 'too_many_requests', message: 'rate limited' },
      }),
      { lists: { vip: 12 } },
    );
    const outcome = await brevoDestination.send([testMessage(), entered('vip', 'a@example.com')], ctx);
    expect(outcome).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 7000 });
    expect(standIn.calls).toHaveLength(1);
  });

  it('prefers Retry-After when Brevo sends one', async () => {
    const { ctx } = await setUp(() => ({
      status: 429,
      headers: { 'retry-after': '3', 'x-sib-ratelimit-reset': '50' },
    }));
    expect(await brevoDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
  });

  it('retries a 5xx', async () => {
    const { ctx } = await setUp(() => ({ status: 503, body: 'upstream unavailable' }));
    expect(await brevoDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      status: 503,
      reason: expect.stringContaining('upstream unavailable'),
    });
  });

  it('drops a 401 (a wrong key is permanent until the config changes)', async () => {
    const { ctx } = await setUp(() => ({ status: 401, body: { code: 'unauthorized', message: 'Key not found' } }));
    expect(await brevoDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'drop',
      status: 401,
      reason: expect.stringContaining('unauthorized: Key not found'),
    });
  });

  it('retries when the server cannot be reached', async () => {
    const standIn = await startStandIn(() => ({ status: 201 }));
    await standIn.close();
    const { ctx, close } = testSendContext<BrevoConfig>({ apiKey: 'k', baseUrl: standIn.url });
    cleanups.push(close);
    expect(await brevoDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/^brevo POST \/v3\/contacts: /),
    });
  });

  it('never puts the API key in a reason', async () => {
    const { ctx } = await setUp(() => ({ status: 500 }));
    const outcome = await brevoDestination.send([testMessage()], ctx);
    expect(JSON.stringify(outcome)).not.toContain('xkeysib-test');
  });
});

describe('brevo schema', () => {
  it('marks the API key secret and defaults the base URL to Brevo', () => {
    const props = brevoDestination.configSchema.properties;
    expect((props.apiKey as { secret?: boolean }).secret).toBe(true);
    expect(props.baseUrl.default).toBe('https://api.brevo.com');
    expect(brevoDestination.maxBatch).toBeGreaterThan(0);
  });
});

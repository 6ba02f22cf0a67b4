import { afterEach, describe, expect, it } from 'vitest';
import type { SendOutcome, SendResult } from '../plugin.js';
import { testMessage, testSendContext } from '../test/send-context.js';
import { type StandInHandler, startStandIn } from '../test/stand-in.js';
import { type HubspotConfig, hubspotDestination } from './hubspot.js';

const TOKEN = 'pat-eu1-00000000-0000-0000-0000-000000000000';
const PATH = '/crm/v3/objects/contacts/batch/upsert';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setUp(handler: StandInHandler, config: Partial<HubspotConfig> = {}) {
  const standIn = await startStandIn(handler);
  const { ctx, close } = testSendContext<HubspotConfig>({ accessToken: TOKEN, baseUrl: standIn.url, ...config });
  cleanups.push(close, standIn.close);
  return { standIn, ctx };
}

function eachOf(outcome: SendOutcome): ReadonlyMap<string, SendResult> {
  if (outcome.kind !== 'each') throw new Error(`expected each, got ${JSON.stringify(outcome)}`);
  return outcome.results;
}

type Input = { id: string; idProperty: string; objectWriteTraceId: string; properties: Record<string, string> };
const inputsOf = (json: unknown) => (json as { inputs: Input[] }).inputs;

/** HubSpot's success answer: one result per input, echoing its trace id. */
const upserted: StandInHandler = (call) => ({
  status: 200,
  body: {
    status: 'COMPLETE',
    results: inputsOf(call.json).map((input, i) => ({
      id: String(1000 + i),
      new: false,
      objectWriteTraceId: input.objectWriteTraceId,
      properties: { email: input.id },
    })),
    startedAt: '2026-11-01T12:00:00Z',
    completedAt: '2026-11-01T12:00:01Z',
  },
});

const audience = (key: string, email: string, entered = true, at?: number) =>
  testMessage({
    kind: 'audience',
    identifiers: { email },
    audience: { key, name: key, entered },
    ...(at ? { at } : {}),
  });

describe('hubspot upserts', () => {
  it('upserts contacts by e-mail with the mapped properties and the Bearer token', async () => {
    const { standIn, ctx } = await setUp(upserted);
    const message = testMessage({ identifiers: { email: 'ada@example.com', phone: '+33612345678' } });
    expect(await hubspotDestination.send([message], ctx)).toEqual({ kind: 'ok' });
    expect(standIn.calls).toHaveLength(1);
    const [call] = standIn.calls;
    expect([call.method, call.path]).toEqual(['POST', PATH]);
    expect(call.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(call.json).toEqual({
      inputs: [
        {
          idProperty: 'email',
          id: 'ada@example.com',
          objectWriteTraceId: message.id,
          properties: { firstname: 'Ada', lastname: 'Lovelace', phone: '+33612345678' },
        },
      ],
    });
  });

  it('merges the messages of one e-mail into one input, audiences as checkbox properties', async () => {
    const { standIn, ctx } = await setUp(upserted, { audienceProperties: { vip: 'is_vip' } });
    const profile = testMessage({ identifiers: { email: 'Ada@example.com' }, at: 1000 });
    const batch = [
      audience('High-Value', 'ada@example.com', true, 3000),
      profile,
      audience('vip', 'ADA@example.com', false, 2000),
      audience('vip', 'bob@example.com', true, 2000),
    ];
    expect(await hubspotDestination.send(batch, ctx)).toEqual({ kind: 'ok' });
    expect(inputsOf(standIn.calls[0].json)).toEqual([
      {
        idProperty: 'email',
        id: 'Ada@example.com',
        objectWriteTraceId: profile.id,
        properties: { firstname: 'Ada', lastname: 'Lovelace', is_vip: 'false', tessera_audience_high_value: 'true' },
      },
      { idProperty: 'email', id: 'bob@example.com', objectWriteTraceId: batch[3].id, properties: { is_vip: 'true' } },
    ]);
  });

  it('writes values as HubSpot strings: null clears, a list is a multi-checkbox', async () => {
    const { standIn, ctx } = await setUp(upserted, {
      properties: { plan: 'plan', tags: 'tags', age: 'age', lastName: 'lastname' },
    });
    const message = testMessage({
      identifiers: { email: 'a@example.com' },
      traits: { plan: 'gold', tags: ['a', 'b'], age: 42, lastName: null },
    });
    await hubspotDestination.send([message], ctx);
    expect(inputsOf(standIn.calls[0].json)[0].properties).toEqual({
      plan: 'gold',
      tags: 'a;b',
      age: '42',
      lastname: '',
    });
  });

  it('drops a message without an e-mail and upserts the others', async () => {
    const { standIn, ctx } = await setUp(upserted);
    const without = testMessage({ identifiers: { userId: 'u1' } });
    const withEmail = testMessage({ identifiers: { email: 'b@example.com' } });
    const results = eachOf(await hubspotDestination.send([without, withEmail], ctx));
    expect(results.get(without.id)).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/no e-mail/) });
    expect(results.size).toBe(1);
    expect(inputsOf(standIn.calls[0].json).map((i) => i.id)).toEqual(['b@example.com']);
  });
});

describe('hubspot partial failures', () => {
  it('maps the errors of a 207 to their inputs by objectWriteTraceId', async () => {
    const { ctx } = await setUp((call) => {
      const inputs = inputsOf(call.json);
      const refused = inputs.find((i) => i.id === 'bad@example.com')!;
      return {
        status: 207,
        body: {
          status: 'COMPLETE',
          // The error alone says which input failed.
          results: [],
          numErrors: 1,
          errors: [
            {
              status: 'error',
              category: 'VALIDATION_ERROR',
              message:
                'Property values were not valid: [{"isValid":false,"message":"Property \\"plan\\" does not exist"}]',
              context: { objectWriteTraceId: [refused.objectWriteTraceId] },
            },
          ],
        },
      };
    });
    const ok = testMessage({ identifiers: { email: 'ok@example.com' } });
    const bad = testMessage({ identifiers: { email: 'bad@example.com' }, at: 1 });
    const badAudience = audience('vip', 'bad@example.com', true, 2);
    const results = eachOf(await hubspotDestination.send([ok, bad, badAudience], ctx));
    expect([...results.keys()].sort()).toEqual([bad.id, badAudience.id].sort());
    expect(results.get(bad.id)).toMatchObject({
      kind: 'drop',
      reason: expect.stringContaining('HTTP 207 VALIDATION_ERROR: Property values were not valid'),
    });
  });

  it('gives an error tied to no input to the inputs HubSpot did not confirm', async () => {
    const { ctx } = await setUp((call) => {
      const good = inputsOf(call.json).find((i) => i.id === 'ok@example.com')!;
      return {
        status: 207,
        body: {
          status: 'COMPLETE',
          results: [{ id: '1', objectWriteTraceId: good.objectWriteTraceId, properties: {} }],
          errors: [{ status: 'error', category: 'VALIDATION_ERROR', message: 'Property "plan" does not exist' }],
        },
      };
    });
    const ok = testMessage({ identifiers: { email: 'ok@example.com' } });
    const unconfirmed = testMessage({ identifiers: { email: 'other@example.com' } });
    const results = eachOf(await hubspotDestination.send([ok, unconfirmed], ctx));
    expect([...results.keys()]).toEqual([unconfirmed.id]);
    expect(results.get(unconfirmed.id)).toMatchObject({
      kind: 'drop',
      reason: expect.stringContaining('"plan" does not exist'),
    });
  });

  it('maps a 207 error that names the e-mail instead', async () => {
    const { ctx } = await setUp(() => ({
      status: 207,
      body: {
        status: 'COMPLETE',
        results: [],
        errors: [{ status: 'error', category: 'VALIDATION_ERROR', message: 'Email address bad@example is invalid' }],
      },
    }));
    const ok = testMessage({ identifiers: { email: 'ok@example.com' } });
    const bad = testMessage({ identifiers: { email: 'bad@example' } });
    const results = eachOf(await hubspotDestination.send([ok, bad], ctx));
    expect(results.size).toBe(1);
    expect(results.get(bad.id)).toMatchObject({
      kind: 'drop',
      reason: expect.stringContaining('Email address <e-mail> is invalid'),
    });
  });

  it('drops the contact a 400 names and retries the others, which were not written', async () => {
    const { ctx } = await setUp(() => ({
      status: 400,
      body: {
        status: 'error',
        message:
          'Property values were not valid: [{"isValid":false,"message":"Email address bad@example is invalid","error":"INVALID_EMAIL","name":"email"}]',
        correlationId: 'c0ffee00-0000-4000-8000-000000000000',
        category: 'VALIDATION_ERROR',
      },
    }));
    const ok = testMessage({ identifiers: { email: 'ok@example.com' } });
    const bad = testMessage({ identifiers: { email: 'bad@example' } });
    const results = eachOf(await hubspotDestination.send([ok, bad], ctx));
    const dropped = results.get(bad.id) as { kind: string; reason: string; status: number };
    expect(dropped).toMatchObject({ kind: 'drop', status: 400 });
    expect(dropped.reason).toContain('VALIDATION_ERROR: Property values were not valid');
    expect(dropped.reason).toContain('correlationId c0ffee00-0000-4000-8000-000000000000');
    expect(dropped.reason).not.toContain('bad@example');
    expect(results.get(ok.id)).toMatchObject({ kind: 'retry' });
  });

  it('drops the whole batch for a 400 that names no contact', async () => {
    const { ctx } = await setUp(() => ({
      status: 400,
      body: {
        status: 'error',
        message: 'Invalid input JSON on line 1',
        correlationId: 'c1',
        category: 'VALIDATION_ERROR',
      },
    }));
    const outcome = await hubspotDestination.send([testMessage(), testMessage()], ctx);
    expect(outcome).toEqual({
      kind: 'drop',
      status: 400,
      reason: `hubspot POST ${PATH}: HTTP 400 VALIDATION_ERROR: Invalid input JSON on line 1 (correlationId c1)`,
    });
  });
});

describe('hubspot failures', () => {
  const rateLimited = {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId: 'c2',
    policyName: 'TEN_SECONDLY_ROLLING',
    category: 'RATE_LIMITS',
  };

  it('retries a 429 after its Retry-After', async () => {
    const { ctx } = await setUp(() => ({ status: 429, headers: { 'retry-after': '2' }, body: rateLimited }));
    expect(await hubspotDestination.send([testMessage()], ctx)).toMatchObject({
      kind: 'retry',
      status: 429,
      retryAfterMs: 2000,
      reason: expect.stringContaining('RATE_LIMITS: You have reached your ten_secondly_rolling limit.'),
    });
  });

  it('waits out the ten-second window when a 429 has no Retry-After', async () => {
    const { ctx } = await setUp(() => ({ status: 429, body: rateLimited }));
    expect(await hubspotDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry', retryAfterMs: 10_000 });
  });

  it('retries a 5xx', async () => {
    const { ctx } = await setUp(() => ({
      status: 502,
      body: { status: 'error', message: 'Bad gateway', category: 'INTERNAL' },
    }));
    expect(await hubspotDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry', status: 502 });
  });

  it('drops a 401 with HubSpot’s message', async () => {
    const { ctx } = await setUp(() => ({
      status: 401,
      body: { status: 'error', message: 'Authentication credentials not found.', category: 'INVALID_AUTHENTICATION' },
    }));
    const outcome = await hubspotDestination.send([testMessage()], ctx);
    expect(outcome).toMatchObject({
      kind: 'drop',
      status: 401,
      reason: expect.stringContaining('INVALID_AUTHENTICATION'),
    });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('retries when the server cannot be reached', async () => {
    const standIn = await startStandIn(() => ({ status: 200 }));
    await standIn.close();
    const { ctx, close } = testSendContext<HubspotConfig>({ accessToken: TOKEN, baseUrl: standIn.url });
    cleanups.push(close);
    expect(await hubspotDestination.send([testMessage()], ctx)).toMatchObject({ kind: 'retry' });
  });
});

describe('hubspot plugin', () => {
  it('declares its limits, purpose and secret', () => {
    expect(hubspotDestination.maxBatch).toBe(100);
    expect(hubspotDestination.channel).toBeUndefined();
    expect(hubspotDestination.defaultPurpose).toBe('crm');
    const props = hubspotDestination.configSchema.properties;
    expect((props.accessToken as { secret?: boolean }).secret).toBe(true);
    expect(props.baseUrl.default).toBe('https://api.hubapi.com');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { at, call, idOf, step } from '../test/identity-steps.js';
import { createTestApp, type TestApp } from '../test/test-app.js';

/**
 * `POST /v1/privacy/requests` with `type: rectify` (docs/privacy.md, Rectification): the body's `corrections` checked
 * (400 `invalid_request` naming the field), then the request answered like an erasure, `{id, status: running}`, and
 * read back with its proof: counts and trait names, no value.
 */

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

const identifier = { type: 'email', value: 'ada@example.org' };
const rectify = (corrections: unknown) =>
  call(t, 'POST', '/v1/privacy/requests', {
    type: 'rectify',
    identifier,
    ...(corrections === undefined ? {} : { corrections }),
  });

describe('rectify requests over HTTP', () => {
  const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`trait${i}`, 'x']));
  it.each([
    ['missing', undefined, 'corrections', 'corrections: required for a rectify request'],
    ['empty', {}, 'corrections', 'corrections: name at least one trait'],
    ['an array', [{ lastName: 'Lovelace' }], 'corrections', 'corrections: must be an object'],
    ['a string', 'lastName=Lovelace', 'corrections', 'corrections: must be an object'],
    ['null', null, 'corrections', 'corrections: must be an object'],
    ['over 100 traits', tooMany, 'corrections', 'corrections: at most 100 traits (got 101)'],
    ['an empty trait name', { '': 'x' }, 'corrections.', 'corrections.: not a valid trait name'],
    ['a control character', { 'last\nName': 'x' }, 'corrections.last\nName', 'not a valid trait name'],
    ['a name too long', { ['n'.repeat(257)]: 'x' }, `corrections.${'n'.repeat(257)}`, 'not a valid trait name'],
    ['an invalid e-mail', { email: 'not an e-mail' }, undefined, 'corrections.email: not a valid email'],
  ])('refuses corrections %s: 400 invalid_request naming the field', async (_what, corrections, field, message) => {
    const r = await rectify(corrections);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.message).toContain(message);
    if (field !== undefined) expect(r.body.error.details).toEqual({ field });
  });

  it('refuses corrections on another type of request', async () => {
    const r = await call(t, 'POST', '/v1/privacy/requests', {
      type: 'erase',
      identifier,
      corrections: { lastName: 'x' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', details: { field: 'corrections' } });
  });

  it('answers {id, status} at once, then the proof: counts and trait names only', async () => {
    await step(t, [
      {
        type: 'identify',
        userId: 'ada-1',
        traits: { email: identifier.value, lastName: 'Lovelance', title: 'Countess' },
        timestamp: at(0),
      },
    ]);
    const r = await rectify({ lastName: 'Lovelace', title: null });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ type: 'rectify', status: 'running', identifierType: 'email' });
    expect(r.body.id).toMatch(/^dsr_/);
    await t.app.privacy.settled(r.body.id);
    const done = await call(t, 'GET', `/v1/privacy/requests/${r.body.id}`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      status: 'completed',
      profiles: 1,
      error: null,
      proof: {
        traits: ['lastName', 'title'],
        profilesTouched: 1,
        correctionRows: 2,
        historyRowsRewritten: 2,
        redacted: { ingest_log: 1, events: 1, quarantine: 0, deliveries: 0 },
      },
    });
    for (const value of ['Lovelance', 'Lovelace', 'Countess', identifier.value])
      expect(JSON.stringify(done.body)).not.toContain(value);
    const profile = await call(t, 'GET', `/v1/profiles/${await idOf(t, 'email', identifier.value)}`);
    expect(profile.body.traits).toEqual({ email: identifier.value, lastName: 'Lovelace' });
    const listed = await call(t, 'GET', '/v1/privacy/requests');
    expect(listed.body.items.map((i: { type: string }) => i.type)).toEqual(['rectify']);
  });

  it('ends not_found for an identifier nobody holds', async () => {
    const r = await rectify({ lastName: 'Lovelace' });
    expect(r.status).toBe(201);
    await t.app.privacy.settled(r.body.id);
    expect((await call(t, 'GET', `/v1/privacy/requests/${r.body.id}`)).body).toMatchObject({
      status: 'not_found',
      profiles: 0,
    });
  });
});

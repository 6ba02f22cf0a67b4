import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/test-app.js';
import { DEFAULT_IDENTITY_RULES, IDENTITY_RULES_KEY, type IdentityRules } from './rules.js';

const identify = (anonymousId: string, messageId: string, traits: Record<string, unknown>, extra = {}) => ({
  type: 'identify',
  anonymousId,
  messageId,
  timestamp: '2026-03-01T10:00:00.000Z',
  traits,
  ...extra,
});

describe('tessera identity rebuild (re-resolve from the ingest log after a rules change)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.app.close());

  const setRules = (change: (r: IdentityRules) => IdentityRules) =>
    t.app.storage.settings.put(
      IDENTITY_RULES_KEY,
      change(structuredClone(DEFAULT_IDENTITY_RULES) as IdentityRules),
      'test',
      Date.now(),
    );
  const profileOf = async (type: string, value: string) => (await t.get(`/v1/profiles/by/${type}/${value}`)).body;

  it('a type made mergeable joins the profiles it links, with the merge recorded under rule "rebuild"', async () => {
    const device = { context: { externalIds: [{ type: 'device_id', id: 'tablet-1' }] } };
    await t.send([
      identify('a1', 'm1', { firstName: 'Ann' }, device),
      identify('b1', 'm2', { lastName: 'Lee' }, device),
    ]);
    await t.app.drain();
    // device_id is link-only by default: a family tablet does not merge a family.
    expect((await profileOf('anonymous_id', 'a1')).id).not.toBe((await profileOf('anonymous_id', 'b1')).id);

    await setRules((r) => ({ ...r, types: { ...r.types, device_id: { merge: true, limit: 1 } } }));
    const summary = await t.app.rebuild({});
    expect(summary).toMatchObject({ entries: 2, events: 2, merged: 1, refused: 0, settingsVersion: 1 });
    const a = await profileOf('anonymous_id', 'a1');
    expect((await profileOf('anonymous_id', 'b1')).id).toBe(a.id);
    expect(a.traits).toMatchObject({ firstName: 'Ann', lastName: 'Lee' });
    const merges = await t.get(`/v1/profiles/${a.id}/merges`);
    expect(merges.body.items.map((m: { rule: string }) => m.rule)).toContain('rebuild');
    // The events keep the profile they were stored under (never re-keyed), and a second rebuild changes nothing.
    expect((await t.app.rebuild({})).merged).toBe(0);
  });

  it('a newly configured type is linked, and --since skips what was received before', async () => {
    await t.send([identify('a1', 'm1', { member_no: 'M-7' }), identify('b1', 'm2', { member_no: 'M-7' })]);
    await t.app.drain();
    expect((await t.get('/v1/profiles/by/member_no/M-7')).status).toBe(404);
    await setRules((r) => ({ ...r, types: { ...r.types, member_no: { merge: true, limit: 1 } } }));

    expect(await t.app.rebuild({ since: Date.now() + 60_000 })).toMatchObject({ entries: 0, linked: 0 });
    const summary = await t.app.rebuild({});
    expect(summary).toMatchObject({ linked: 1, merged: 1 });
    const p = await profileOf('member_no', 'M-7');
    expect((await profileOf('anonymous_id', 'a1')).id).toBe(p.id);
    expect((await profileOf('anonymous_id', 'b1')).id).toBe(p.id);
  });

  it('a lowered limit undoes nothing: the family goes to review', async () => {
    await t.send([
      identify('a1', 'm1', { email: 'ann@example.com' }),
      identify('a1', 'm2', { email: 'ann@work.example' }),
    ]);
    await t.app.drain();
    await setRules((r) => ({ ...r, types: { ...r.types, email: { merge: true, limit: 1 } } }));
    const summary = await t.app.rebuild({});
    expect(summary).toMatchObject({ merged: 0, violations: 1 });
    const p = await profileOf('anonymous_id', 'a1');
    expect(
      (await t.get(`/v1/profiles/${p.id}/identities`)).body.items.filter((i: { type: string }) => i.type === 'email'),
    ).toHaveLength(2);
    const open = await t.app.storage.identities.reviews({ status: 'open', limit: 10 });
    expect(open.map((r) => [r.kind, r.reason])).toEqual([['rules_violation', 'limit_exceeded:email']]);
  });

  it('rules unchanged: a join the limits refuse stays refused, and runs add nothing (no review flood)', async () => {
    // One e-mail shared by two user ids: the pipeline keeps them apart (user_id: one per profile).
    await t.send([
      identify('a1', 'm1', { email: 'shared@example.com' }, { userId: 'u1' }),
      identify('b1', 'm2', { email: 'shared@example.com' }, { userId: 'u2' }),
      identify('b1', 'm3', { email: 'shared@example.com' }, { userId: 'u2' }),
    ]);
    await t.app.drain();
    const before = await t.app.storage.identities.reviews({ status: 'open', limit: 100 });
    for (let run = 0; run < 2; run++) {
      const summary = await t.app.rebuild({});
      expect(summary).toMatchObject({ merged: 0, linked: 0, violations: 0 });
    }
    expect(await t.app.storage.identities.reviews({ status: 'open', limit: 100 })).toEqual(before);
    expect((await profileOf('user_id', 'u1')).id).not.toBe((await profileOf('user_id', 'u2')).id);
  });

  it('a lowered limit is reported once, however many rebuilds', async () => {
    await t.send([
      identify('a1', 'm1', { email: 'ann@example.com' }),
      identify('a1', 'm2', { email: 'ann@work.example' }),
    ]);
    await t.app.drain();
    await setRules((r) => ({ ...r, types: { ...r.types, email: { merge: true, limit: 1 } } }));
    expect((await t.app.rebuild({})).violations).toBe(1);
    expect((await t.app.rebuild({})).violations).toBe(0);
    expect(await t.app.storage.identities.reviews({ status: 'open', limit: 10 })).toHaveLength(1);
  });

  it('HTTP: POST /v1/identity/rebuild', async () => {
    const res = await t.app.http.inject({
      method: 'POST',
      url: '/v1/identity/rebuild',
      payload: { since: 'yesterday' },
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(res.statusCode).toBe(400);
    const ok = await t.app.http.inject({
      method: 'POST',
      url: '/v1/identity/rebuild',
      payload: {},
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ entries: 0, events: 0, settingsVersion: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import { contactsOf, DEMO, normEmail, personByUserId } from './test/demo-fixture.js';

const { sharedDevice, blockedEmail, reusedEmail } = DEMO.tricky;

describe('trickyRecords', () => {
  it('has a family tablet: one anonymousId on which two different user ids log in', () => {
    const logins = DEMO.calls.filter(
      (c) => c.call.type === 'identify' && c.call.anonymousId === sharedDevice.anonymousId,
    );
    expect(logins.map((c) => c.call.userId)).toEqual(sharedDevice.userIds);
    const [a, b] = sharedDevice.userIds.map(personByUserId);
    expect(a?.key).not.toBe(b?.key);
    expect(a?.lastName).toBe(b?.lastName);
    expect(a?.email).not.toBe(b?.email);
    const users = new Set(
      DEMO.calls.filter((c) => c.call.anonymousId === sharedDevice.anonymousId).map((c) => c.call.userId),
    );
    expect(users).toEqual(new Set([undefined, ...sharedDevice.userIds]));
  });

  it('has the blocked test@test.com next to real, different phone numbers and anonymous visitors', () => {
    expect(blockedEmail.value).toBe('test@test.com');
    const calls = DEMO.calls.filter((c) => blockedEmail.messageIds.includes(String(c.call.messageId)));
    expect(calls).toHaveLength(blockedEmail.messageIds.length);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const c of calls) expect(contactsOf(c, 'email').map(normEmail)).toEqual(['test@test.com']);
    const phones = new Set(calls.flatMap((c) => contactsOf(c, 'phone')));
    expect(phones.size).toBe(2);
    expect(new Set(calls.map((c) => c.call.anonymousId)).size).toBe(calls.length);
    expect(DEMO.people.some((p) => p.email === 'test@test.com')).toBe(false);
  });

  it('has a second user id that signs up later with someone else’s e-mail', () => {
    const owners = DEMO.people.filter((p) => p.email === reusedEmail.email);
    expect(owners.map((p) => p.userId)).toEqual([reusedEmail.ownerUserId, reusedEmail.otherUserId]);
    expect(owners[0].phone).not.toBe(owners[1].phone);
    const signUp = (userId: string) =>
      DEMO.calls.find(
        (c) => c.call.type === 'identify' && c.call.userId === userId && contactsOf(c, 'email').length > 0,
      );
    const [first, second] = [signUp(reusedEmail.ownerUserId), signUp(reusedEmail.otherUserId)];
    expect(contactsOf(first!, 'email').map(normEmail)).toEqual([reusedEmail.email]);
    expect(contactsOf(second!, 'email').map(normEmail)).toEqual([reusedEmail.email]);
    expect(String(first?.call.timestamp) < String(second?.call.timestamp)).toBe(true);
  });
});

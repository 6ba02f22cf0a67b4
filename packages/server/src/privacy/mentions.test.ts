import { describe, expect, it } from 'vitest';
import { mentionsOf, redactMentions } from './mentions.js';

/** What an erasure counts as naming a person in raw text: whole JSON strings and CSV fields, not substrings. */
describe('mentionsOf', () => {
  const m = mentionsOf(['1001', 'zoe@example.org', 'prof_01a2', 'Anon-X']);
  it.each([
    ['a JSON string equal to a value', '{"userId":"1001"}', true],
    ['a number containing it', '{"total":10010,"userId":"u2"}', false],
    ['a longer string containing it', '{"orderId":"A1001"}', false],
    ['an e-mail in another case', '{"traits":{"email":"Zoe@Example.ORG"}}', true],
    ['another case of a case-sensitive id', '{"anonymousId":"anon-x"}', false],
    ['the id in its own case', '{"anonymousId":"Anon-X"}', true],
  ])('JSON: %s', (_what, text, expected) => {
    expect(m.json(text)).toBe(expected);
  });
  it.each([
    ['a CSV field', 'dlv_1,event,prof_01a2,2026-11-01', true],
    ['a CSV field at the end', 'dlv_1,event,1001', true],
    ['a CSV field containing it', 'dlv_1,event,prof_01a23', false],
    ['CSV-escaped JSON', 'dlv_1,"{""email"":""zoe@example.org""}"', true],
  ])('lines: %s', (_what, text, expected) => {
    expect(m.line(text)).toBe(expected);
  });
});

/** What a rectification replaces in a raw payload: whole JSON string values only, keys and other bytes kept. */
describe('redactMentions', () => {
  const values = ['Smiht', 'zoe@example.org'];
  it.each([
    ['a string value', '{"lastName":"Smiht"}', '{"lastName":"[rectified]"}', 1],
    ['spacing kept', '{ "a" : "Smiht" , "b": 1 }', '{ "a" : "[rectified]" , "b": 1 }', 1],
    ['an escaped spelling', '{"n":"Smi\\u0068t"}', '{"n":"[rectified]"}', 1],
    ['a longer string containing it', '{"note":"Smiht family"}', '{"note":"Smiht family"}', 0],
    ['a key equal to it', '{"Smiht" : "x"}', '{"Smiht" : "x"}', 0],
    ['another case of a name', '{"n":"smiht"}', '{"n":"smiht"}', 0],
    [
      'an e-mail in another case',
      '{"e":"Zoe@Example.ORG","f":["Smiht"]}',
      '{"e":"[rectified]","f":["[rectified]"]}',
      2,
    ],
  ])('%s', (_what, text, expected, replaced) => {
    expect(redactMentions(text, values)).toEqual({ text: expected, replaced });
  });

  it('with keys, redacts only values of properties so named or ending so', () => {
    const text = '{"plan":"free","shipping":"free","shipToPlan":"free","items":["free"]}';
    expect(redactMentions(text, ['free'], new Set(['plan']))).toEqual({
      text: '{"plan":"[rectified]","shipping":"free","shipToPlan":"[rectified]","items":["free"]}',
      replaced: 2,
    });
  });
});

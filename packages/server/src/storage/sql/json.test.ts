import { describe, expect, it } from 'vitest';
import { fromJson, toJson } from './json.js';

describe('toJson', () => {
  it.each([
    ['U+0000', 'a\u0000b', 'a\ufffdb'],
    ['a lone high surrogate', 'cut \ud83d', 'cut \ufffd'],
    ['a lone low surrogate', '\ude00 x', '\ufffd x'],
    ['a paired emoji (kept)', 'ok 😀', 'ok 😀'],
    ['an escaped backslash before u0000 (kept)', 'c:\\u0000', 'c:\\u0000'],
    ['an escaped backslash then a real NUL', '\\\u0000', '\\\ufffd'],
  ])('%s', (_name, input, expected) => {
    expect(fromJson(toJson({ v: input }))).toEqual({ v: expected });
  });
});

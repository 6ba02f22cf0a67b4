import { describe, expect, it } from 'vitest';
import { detectDelimiter } from './detect-delimiter.js';

describe('detectDelimiter', () => {
  it.each([
    ['Customer ID;E-mail;Mobile;First name', ';'],
    ['id,name,email', ','],
    ['id\tname\temail', '\t'],
    ['"Last, First";Amount;Date', ';'],
    ['"a;b;c",d,e', ','],
    ['single', ','],
    ['', ','],
    ['a,b;c', ','],
  ])('%j → %j', (header, expected) => {
    expect(detectDelimiter(header)).toBe(expected);
  });

  it('honours another quote character', () => {
    expect(detectDelimiter("'a,b,c';d;e", "'")).toBe(';');
  });
});

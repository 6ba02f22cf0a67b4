import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from './login-limiter.js';

describe('createLoginLimiter', () => {
  it('blocks an account after its failures within the window, an address after more, and forgets with time', () => {
    let now = 0;
    const l = createLoginLimiter({ windowMs: 1000, perAccount: 2, perAddress: 3, clock: () => now });
    l.failed('a', 'ip1');
    expect(l.retryAfter('a', 'ip1')).toBe(0);
    now = 100;
    l.failed('a', 'ip1');
    expect(l.retryAfter('a', 'ip1')).toBe(900);
    expect(l.retryAfter('b', 'ip1')).toBe(0);
    l.failed('b', 'ip1');
    expect(l.retryAfter('c', 'ip1')).toBe(900);
    expect(l.retryAfter('c', 'ip2')).toBe(0);
    now = 1001;
    expect(l.retryAfter('a', 'ip2')).toBe(0);
    l.succeeded('b');
    expect(l.retryAfter('b', 'ip3')).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../ingest/logged-event.js';
import { parseAhead, takePayload } from './parsed-payload.js';

const entry = (payload: string): LogEntry => ({ sourceId: 's', messageId: 'm', receivedAt: 0, payload, position: 1 });

describe('parsed payloads', () => {
  it('hands the payload parsed ahead to the parse step once, then parses afresh', () => {
    const e = entry('{"type":"track","event":"X"}');
    const ahead = parseAhead(e);
    expect(parseAhead(e)).toBe(ahead); // a second reader ahead shares it
    const taken = takePayload(e);
    expect(taken).toBe(ahead);
    taken.event = 'changed by a step';
    // A batch run again (isolated) must not see what the first run's steps did to it.
    const again = takePayload(e);
    expect(again).not.toBe(taken);
    expect(again.event).toBe('X');
  });

  it('parses when nothing was parsed ahead, and throws on a payload that is not JSON', () => {
    expect(takePayload(entry('{"type":"page"}')).type).toBe('page');
    expect(() => parseAhead(entry('{'))).toThrow(SyntaxError);
    expect(() => takePayload(entry('{'))).toThrow(SyntaxError);
  });
});

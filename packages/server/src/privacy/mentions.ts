/**
 * Whether a raw text names one of a person's values (an erasure of raw payloads, export lines, stream messages).
 * A value counts only as a whole JSON string (`"value"`) or as a whole CSV field, never as a substring, so that
 * erasing user `1001` leaves an order total of `10010`. Case counts, except for e-mails (stored lower-cased, sent in
 * any case).
 */
export function mentionsOf(values: readonly string[]) {
  const usable = values.filter((v) => v.length > 0);
  const token = (v: string) => (v.includes('@') ? JSON.stringify(v).toLowerCase() : JSON.stringify(v));
  const exact = usable.filter((v) => !v.includes('@')).map(token);
  const folded = usable.filter((v) => v.includes('@')).map(token);
  const fields = usable.map(
    (v) => new RegExp(`(?:^|,)${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:,|$)`, v.includes('@') ? 'im' : 'm'),
  );
  const json = (text: string) => {
    if (exact.some((t) => text.includes(t))) return true;
    if (folded.length === 0) return false;
    const lower = text.toLowerCase();
    return folded.some((t) => lower.includes(t));
  };
  return {
    /** JSON tokens matched as they are, and e-mail tokens matched lower-cased (for SQL `like` / `lower(…) like`). */
    exact,
    folded,
    json,
    /** A JSON or CSV line. */
    line: (text: string) => json(text) || fields.some((f) => f.test(text)),
  };
}

/** What a rectification writes in place of a wrong value in a raw payload (docs/privacy.md, Rectification). */
export const RECTIFIED = '[rectified]';

/** The property name just before a value (`"name": `), at the end of a text. */
const KEY_BEFORE = /"((?:[^"\\]|\\.)*)"\s*:\s*$/;

/** A property name as the corrections name fields: lower case, letters and digits only (`first_name` = `firstName`). */
export const normaliseKey = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** A JSON string literal, escapes included. */
const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/g;

/**
 * Replaces, in a raw text holding JSON (a payload as received, a JSON column read as text), every JSON string
 * **value** equal to one of `values` by `"[rectified]"`: the same whole-string rule as {@link mentionsOf} (case
 * counts, except for e-mails), object keys left alone, every other byte kept as it was. With `keys`, only a value of
 * a property whose normalised name is one of them or ends with one. A literal is compared decoded, so `"Zo\u00eb"` is `"Zoë"`.
 * Answers the new text and how many values it replaced.
 */
export function redactMentions(
  text: string,
  values: readonly string[],
  keys?: ReadonlySet<string>,
): { text: string; replaced: number } {
  const exact = new Set(values.filter((v) => v.length > 0 && !v.includes('@')));
  const folded = new Set(values.filter((v) => v.includes('@')).map((v) => v.toLowerCase()));
  let replaced = 0;
  const out = text.replace(STRING_LITERAL, (literal, offset: number) => {
    if (/^\s*:/.test(text.slice(offset + literal.length, offset + literal.length + 64))) return literal;
    if (keys) {
      // Only the value of a property named like a corrected field, or ending so (`shipToLastName` for `lastName`):
      // `"shipping":"free"` in an order stays when `plan: "free"` is corrected.
      const key = KEY_BEFORE.exec(text.slice(Math.max(0, offset - 300), offset));
      const name = key ? normaliseKey(key[1]) : '';
      if (!key || ![...keys].some((k) => name === k || name.endsWith(k))) return literal;
    }
    let value: string;
    try {
      value = JSON.parse(literal) as string;
    } catch {
      return literal;
    }
    if (!exact.has(value) && !folded.has(value.toLowerCase())) return literal;
    replaced++;
    return JSON.stringify(RECTIFIED);
  });
  return { text: out, replaced };
}

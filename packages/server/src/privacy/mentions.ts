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

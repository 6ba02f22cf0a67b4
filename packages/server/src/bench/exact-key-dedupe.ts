import type { MatchRecord } from '../identity/matching/types.js';

/**
 * The dedupe benchmark's baseline: what a CDP without probabilistic matching does. Records with the same normalised
 * e-mail (trimmed, lowercase), or the same given name, surname and date of birth (all three present, trimmed,
 * lowercase), are one person, transitively. Returns each record's cluster, numbered from 0 in record order.
 */
export function exactKeyClusters(records: readonly MatchRecord[]): Int32Array {
  const n = records.length;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (i: number) => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const byEmail = new Map<string, number>();
  const byNameDob = new Map<string, number>();
  const join = (index: Map<string, number>, key: string, i: number) => {
    const first = index.get(key);
    if (first === undefined) index.set(key, i);
    else {
      const a = find(first);
      const b = find(i);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  };
  const norm = (v: string | null | undefined) => (v ? v.trim().toLowerCase() : '');
  for (let i = 0; i < n; i++) {
    const r = records[i];
    const email = norm(r.email);
    if (email) join(byEmail, email, i);
    const given = norm(r.given_name);
    const surname = norm(r.surname);
    const dob = norm(r.date_of_birth);
    if (given && surname && dob) join(byNameDob, `${given}\u0000${surname}\u0000${dob}`, i);
  }
  const cluster = new Int32Array(n).fill(-1);
  let next = 0;
  for (let i = 0; i < n; i++) {
    const root = find(i);
    if (cluster[root] < 0) cluster[root] = next++;
    cluster[i] = cluster[root];
  }
  return cluster;
}

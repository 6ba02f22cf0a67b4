import type { BlockingKey } from '@tessera/protocol';
import type { FieldColumn } from './fields.js';

/** Candidate pairs: `a[k] < b[k]` record indexes; `rules[k]` the bit set of blocking rules the pair satisfies. */
export interface CandidatePairs {
  count: number;
  a: Int32Array;
  b: Int32Array;
  rules: Uint32Array;
  skippedBlocks: { rule: number; key: string; size: number }[];
}

/** Per rule and record, the number of its blocking key (-1 when a part is empty). */
export function blockingKeys(
  rules: readonly (readonly BlockingKey[])[],
  column: (field: string) => FieldColumn,
  n: number,
): { ids: Int32Array[]; names: string[][] } {
  const ids: Int32Array[] = [];
  const names: string[][] = [];
  for (const rule of rules) {
    const index = new Map<string, number>();
    const keyNames: string[] = [];
    const out = new Int32Array(n);
    const parts = rule.map((k) => ({ col: column(k.field), derive: keyTransform(k) }));
    // Derived per distinct value of each part's column, once.
    const derived = parts.map(({ col, derive }) => col.values.map((v, id) => derive(v, id, col)));
    for (let i = 0; i < n; i++) {
      let key = '';
      let ok = true;
      for (let p = 0; p < parts.length; p++) {
        const id = parts[p].col.ids[i];
        const d = id < 0 ? '' : derived[p][id];
        if (d === '') {
          ok = false;
          break;
        }
        key = p === 0 ? d : `${key}\u0000${d}`;
      }
      if (!ok) {
        out[i] = -1;
        continue;
      }
      let id = index.get(key);
      if (id === undefined) {
        id = keyNames.length;
        index.set(key, id);
        keyNames.push(key);
      }
      out[i] = id;
    }
    ids.push(out);
    names.push(keyNames);
  }
  return { ids, names };
}

function keyTransform(k: BlockingKey): (v: string, id: number, col: FieldColumn) => string {
  switch (k.transform ?? 'exact') {
    case 'exact':
      return (v) => v;
    case 'metaphone':
      return (_v, id, col) => col.metaphone(id)[0];
    case 'prefix':
      return (v) => (v.length >= (k.length ?? 3) ? v.slice(0, k.length ?? 3) : v);
    case 'suffix':
      return (v) => (v.length >= (k.length ?? 3) ? v.slice(-(k.length ?? 3)) : v);
    case 'year':
      return (v) => (/^\d{4}/.test(v) ? v.slice(0, 4) : '');
    case 'sorted_tokens':
      return (_v, id, col) => col.tokens(id).join(' ');
    case 'first_token':
      return (_v, id, col) => col.tokens(id)[0] ?? '';
    default:
      throw new Error(`unknown blocking transform "${k.transform}"`);
  }
}

/**
 * The union of the pairs of every rule's blocks. A pair is emitted once, by the first rule whose (not skipped) block
 * holds it; a block larger than `maxBlockSize` is skipped and reported. With `side`, only pairs across sides.
 */
export function candidatePairs(
  keys: { ids: Int32Array[]; names: string[][] },
  n: number,
  opts: { maxBlockSize: number; side?: Uint8Array; onProgress?: (done: number, total: number) => void },
): CandidatePairs {
  const R = keys.ids.length;
  if (R > 32) throw new Error('at most 32 blocking rules');
  let cap = Math.max(1024, n * 4);
  let a = new Int32Array(cap);
  let b = new Int32Array(cap);
  let masks = new Uint32Array(cap);
  let count = 0;
  const skippedBlocks: CandidatePairs['skippedBlocks'] = [];
  const side = opts.side;
  // Block sizes per rule, to tell whether an earlier rule's block of a pair was skipped.
  const sizes = keys.ids.map((ids, r) => {
    const s = new Int32Array(keys.names[r].length);
    for (let i = 0; i < n; i++) if (ids[i] >= 0) s[ids[i]]++;
    return s;
  });
  const grow = () => {
    cap *= 2;
    const a2 = new Int32Array(cap);
    a2.set(a);
    a = a2;
    const b2 = new Int32Array(cap);
    b2.set(b);
    b = b2;
    const m2 = new Uint32Array(cap);
    m2.set(masks);
    masks = m2;
  };
  for (let r = 0; r < R; r++) {
    const ids = keys.ids[r];
    const size = sizes[r];
    // Counting sort of the records by key: members of key k are order[start[k] … start[k + 1]).
    const start = new Int32Array(size.length + 1);
    for (let k = 0; k < size.length; k++) start[k + 1] = start[k] + size[k];
    const fill = start.slice(0, size.length);
    const order = new Int32Array(start[size.length]);
    for (let i = 0; i < n; i++) if (ids[i] >= 0) order[fill[ids[i]]++] = i;
    for (let k = 0; k < size.length; k++) {
      const s = size[k];
      if (s < 2) continue;
      if (s > opts.maxBlockSize) {
        skippedBlocks.push({ rule: r, key: keys.names[r][k].replaceAll('\u0000', '|'), size: s });
        continue;
      }
      for (let p = start[k]; p < start[k + 1]; p++) {
        const i = order[p];
        for (let q = p + 1; q < start[k + 1]; q++) {
          const j = order[q];
          if (side && side[i] === side[j]) continue;
          let mask = 1 << r;
          let seen = false;
          for (let e = 0; e < R; e++) {
            if (e === r) continue;
            const ke = keys.ids[e][i];
            if (ke >= 0 && ke === keys.ids[e][j]) {
              mask |= 1 << e;
              if (e < r && sizes[e][ke] <= opts.maxBlockSize) {
                seen = true;
                break;
              }
            }
          }
          if (seen) continue;
          if (count === cap) grow();
          a[count] = Math.min(i, j);
          b[count] = Math.max(i, j);
          masks[count] = mask >>> 0;
          count++;
        }
      }
      if ((k & 1023) === 0) opts.onProgress?.(r * size.length + k, R * size.length);
    }
  }
  return { count, a: a.subarray(0, count), b: b.subarray(0, count), rules: masks.subarray(0, count), skippedBlocks };
}

/** Pairs a set of rules would produce (Σ size² / 2 over blocks), without producing them: for choosing rules. */
export function estimatePairs(ids: Int32Array, keyCount: number): number {
  const size = new Float64Array(keyCount);
  for (let i = 0; i < ids.length; i++) if (ids[i] >= 0) size[ids[i]]++;
  let pairs = 0;
  for (let k = 0; k < keyCount; k++) pairs += (size[k] * (size[k] - 1)) / 2;
  return pairs;
}

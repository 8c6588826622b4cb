// Key sets shared by unique and relationships: composite keys as one string, and reading a table or stream's keys
// into a Set. Reference sets are dimension-sized (customers, products): they are held in memory whole, one string
// per key, so a check against a 10M-row table costs what its 10M keys cost.
import type { Row } from '../../core/types.js';
import { keyOf } from '../check.js';

/** The key of a row over `at` positions; null when any part is null (a null key neither duplicates nor references). */
export function rowKey(at: number[]): (row: unknown[]) => string | null {
  if (at.length === 1) {
    const k = at[0];
    return (row) => {
      const v = k < 0 ? null : row[k];
      return v === null || v === undefined ? null : keyOf(v);
    };
  }
  return (row) => {
    let key = '';
    for (let i = 0; i < at.length; i++) {
      const v = at[i] < 0 ? null : row[at[i]];
      if (v === null || v === undefined) return null;
      key += (i ? '\u0001' : '') + keyOf(v);
    }
    return key;
  };
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const MIN = -MAX;

/**
 * A single-column key as a Set member: numbers stay numbers (a Set of numbers hashes far faster than one of the same
 * numbers as text; 1M bigint ids: 350 ms against 760 ms), bigints that fit become numbers, the rest key text. Only for values of
 * one typed column (within a run, or the target column it loads into): `1` and `'1'` are different members here.
 */
export const nativeKey = (v: unknown): number | string =>
  typeof v === 'number' ? v
    : typeof v === 'bigint' ? (v <= MAX && v >= MIN ? Number(v) : v.toString())
      : keyOf(v);
/** Keys of `columns` in rows keyed by name (a destination table, another stream). */
export async function collectKeys(rows: AsyncIterable<Record<string, unknown>[] | Row[]>, columns: string[]): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const batch of rows) {
    for (const r of batch) {
      let key = '';
      let ok = true;
      for (let i = 0; i < columns.length && ok; i++) {
        const v = r[columns[i]];
        if (v === null || v === undefined) ok = false;
        else key += (i ? '\u0001' : '') + keyOf(v);
      }
      if (ok) keys.add(key);
    }
  }
  return keys;
}

/** A key as a person reads it in a reason. */
export const showKey = (key: string): string => key.split('\u0001').join(', ');

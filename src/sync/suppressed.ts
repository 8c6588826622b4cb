// Data subjects erased from a sync (`sluice erase <sync.yaml>`, ./erase.ts) and kept out of it afterwards: a side that
// still has the subject (one way, from a system nobody erased; or a row put back) must not carry it again. The list
// is the control store's suppression list (../core/suppression.ts) under the sync's name, digests only:
// - by key, per table (`key:<table>:<subject>` → digests of the erased keys): the subject's records, whatever their
//   values say now — an email changed before the erasure does not hide the key;
// - by value (the column, lower case, as MySQL folds names → the digest of the value erased by): a row that holds the
//   subject's value under another key.
// `<subject>` in the key entries' column is the start of the value's digest: `--lift` finds them from the value alone.
// A suppressed key is left alone where the sync decides what to write (./sync-table.ts, ./cdc/apply-changes.ts):
// nothing written, nothing logged, the base as it was.
import { subjectDigest, type Suppressed } from '../core/suppression.js';
import type { SideColumn } from './side.js';
import { syncText } from './values.js';

const KEY = 'key:';

/** The digest a subject's value is listed by, under its (lower-cased) column. */
export const valueDigest = (sync: string, column: string, value: unknown): string => subjectDigest(sync, column.toLowerCase(), syncText(value) ?? '');

/** The column a table's erased keys are listed under, tied to the subject they were erased for. */
export const keyColumn = (table: string, subject: string): string => `${KEY}${table}:${subject.slice(0, 16)}`;

/** The digest a key (its values as the sync compares them, ./values.ts) is listed by. */
export const keyDigest = (sync: string, table: string, key: readonly (string | null)[]): string => subjectDigest(sync, `${KEY}${table}`, JSON.stringify(key));

/** Whether a column of the list holds the erased keys of `subject` (any table). */
export const isKeyColumnOf = (column: string, subject: string): boolean => column.startsWith(KEY) && column.endsWith(`:${subject.slice(0, 16)}`);

export interface SyncSuppression {
  /**
   * The test of a table's rows (values in the order of `columns`, key first): true for a suppressed subject's row.
   * `key` spells a row's key as the erase that listed it did (diff.ts keyReader). Undefined when the table has nothing
   * suppressed (nothing is hashed for it).
   */
  rows(table: string, columns: readonly SideColumn[], key: (row: readonly unknown[]) => (string | null)[]): ((row: readonly unknown[]) => boolean) | undefined;
}

export function syncSuppression(sync: string, listed: Suppressed): SyncSuppression {
  return {
    rows(table, columns, key) {
      const keys = new Set<string>();
      for (const [column, digests] of listed) {
        if (column.startsWith(`${KEY}${table}:`)) for (const d of digests) keys.add(d);
      }
      const values = columns.map((c, i) => ({ i, column: c.name.toLowerCase(), digests: listed.get(c.name.toLowerCase()) }))
        .filter((v) => v.digests?.size);
      if (!keys.size && !values.length) return undefined;
      return (row) => {
        if (keys.size && keys.has(keyDigest(sync, table, key(row)))) return true;
        return values.some((v) => {
          const value = row[v.i];
          return value !== null && value !== undefined && v.digests!.has(subjectDigest(sync, v.column, syncText(value) ?? ''));
        });
      };
    },
  };
}
